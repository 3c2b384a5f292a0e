package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/spf13/cobra"
)

// DefaultHealthURL is keygate's readiness on its default admin address.
const DefaultHealthURL = "http://127.0.0.1:18081/readyz"

// newHealthcheckCmd is a probe for images without a shell or curl (distroless): Docker's and
// docker-compose's HEALTHCHECK run it inside keygate's container.
func newHealthcheckCmd() *cobra.Command {
	var target string
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "healthcheck",
		Short: "Exit 0 if keygate answers its readiness probe (for container HEALTHCHECKs in distroless)",
		Long: `healthcheck asks a running keygate whether it is ready (GET /readyz: a config applied, the
keystore reachable, not draining) and exits 0 on a 2xx, 1 otherwise, printing why. Point it at
the plaintext listen.health port when keygate's admin port requires mTLS.`,
		Example: `  keygate healthcheck
  keygate healthcheck --url http://127.0.0.1:18082/readyz     # listen.health, beside mTLS
  keygate healthcheck --url http://127.0.0.1:18081/healthz    # alive, ready or not
  # docker-compose.yml:  healthcheck: { test: ["CMD", "/usr/local/bin/keygate", "healthcheck"] }`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			status, err := probe(cmd.Context(), target, timeout)
			if err != nil {
				return err
			}
			cmd.Println(status)
			return nil
		},
	}
	cmd.Flags().StringVar(&target, "url", DefaultHealthURL, "the probe's URL (http only: the health port is plaintext)")
	cmd.Flags().DurationVar(&timeout, "timeout", 3*time.Second, "give up after this long")
	return cmd
}

// probe GETs target and succeeds on a 2xx; its error says what answered instead.
func probe(ctx context.Context, target string, timeout time.Duration) (string, error) {
	u, err := url.Parse(target)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return "", fmt.Errorf("--url %q: want http://HOST:PORT/PATH (the health port is plaintext)", target)
	}
	if timeout <= 0 {
		return "", fmt.Errorf("--timeout %s: want a positive duration", timeout)
	}
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return "", err
	}
	// No proxy from the environment: the probe is of this container's keygate.
	client := &http.Client{Transport: &http.Transport{Proxy: nil}, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
	resp, err := client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return "", fmt.Errorf("nothing answers at %s: %w", u.Redacted(), err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode/100 != 2 {
		return "", fmt.Errorf("%s answered %s: %s", u.Redacted(), resp.Status, printable(string(body)))
	}
	return fmt.Sprintf("%s: %s", u.Redacted(), resp.Status), nil
}
