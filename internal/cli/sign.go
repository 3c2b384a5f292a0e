package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/keygate/keygate/internal/app"
	"github.com/keygate/keygate/internal/dryrun"
	"github.com/keygate/keygate/internal/gateway"
	"github.com/keygate/keygate/signer"
)

type signFlags struct {
	config, provider, tenant, request, response, time, nonce string
	output                                                   string
	reveal, fetchToken, explain                              bool
}

func newSignCmd() *cobra.Command {
	var f signFlags
	cmd := &cobra.Command{
		Use:   "sign --config FILE --provider NAME [--request FILE|-] [--response FILE]",
		Short: "Dry run: print the request keygate would send to a provider, and the processed response",
		Long: `sign reads a raw HTTP/1.1 request exactly as a service would send it to the egress,
runs the same pipeline the ext_proc server runs, and prints the raw HTTP/1.1 request that would
leave for the provider. With --response it also processes a raw HTTP/1.1 response. --time and
--nonce pin every clock and random value. Secret values are printed as [redacted] unless --reveal;
signatures are printed.

A dry run sends nothing: a provider's token is not fetched (a placeholder, marked as such,
stands in for it) and any HTTP call a script makes is refused. --fetch-token uses the real token,
fetching one when none is cached; a provider that revokes its previous token on each issue then
revokes the one the running gateways use.`,
		Example: `  printf 'POST /orders HTTP/1.1\r\nHost: pay.egress.local\r\n\r\n{"amount":7}' |
    keygate sign --config keygate.yaml --provider pay
  keygate sign --config keygate.yaml --provider pay --request req.http --response resp.http
  keygate sign --config keygate.yaml --provider pay --request req.http --time 2026-01-02T03:04:05Z --nonce n0nce
  keygate sign --config keygate.yaml --provider pay --request req.http --fetch-token
  keygate sign --config examples/vectors/aws-sigv4.yaml --provider aws-example \
    --request examples/vectors/aws-get-vanilla.http --time 2015-08-30T12:36:00Z --explain`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runSign(cmd.Context(), f, cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.config, "config", "", "keygate config file (required)")
	fl.StringVar(&f.provider, "provider", "", "provider name (required)")
	fl.StringVar(&f.tenant, "tenant", "", "act as this tenant (the provider must belong to it)")
	fl.StringVar(&f.request, "request", "-", "raw HTTP/1.1 request file, - for standard input")
	fl.StringVar(&f.response, "response", "", "raw HTTP/1.1 response file to process")
	fl.StringVar(&f.time, "time", "", "pin the clock (RFC 3339)")
	fl.StringVar(&f.nonce, "nonce", "", "pin every nonce")
	fl.BoolVar(&f.reveal, "reveal", false, "print secret values instead of [redacted]")
	fl.BoolVar(&f.explain, "explain", false, "also print, on standard error, what each step signs (canonical request, string to sign, signature base), secrets [redacted]: for a provider that answers \"signature mismatch\"")
	fl.BoolVar(&f.fetchToken, "fetch-token", false, "use the provider's real token, fetching one from its token endpoint if needed (a provider may then revoke the token other replicas use); without it nothing is sent and a placeholder stands in")
	addOutputFlag(cmd, &f.output)
	_ = cmd.MarkFlagRequired("config")
	_ = cmd.MarkFlagRequired("provider")
	_ = cmd.RegisterFlagCompletionFunc("provider", completeProviders(&f.config))
	return cmd
}

// SignReport is `keygate sign -o json`.
type SignReport struct {
	Provider string   `json:"provider"`
	Output   string   `json:"output"` // the raw HTTP/1.1 request (and processed response)
	Notes    []string `json:"notes,omitempty"`
	Explain  []string `json:"explain,omitempty"`
}

func runSign(ctx context.Context, f signFlags, stdin io.Reader, stdout, stderr io.Writer) error {
	if err := checkOutput(f.output); err != nil {
		return err
	}
	clock := signer.SystemClock()
	if f.time != "" || f.nonce != "" {
		at := time.Now()
		if f.time != "" {
			t, err := time.Parse(time.RFC3339, f.time)
			if err != nil {
				return fmt.Errorf("--time %q is not RFC 3339 (e.g. 2015-08-30T12:36:00Z)", f.time)
			}
			at = t
		}
		clock = signer.FixedClock(at, f.nonce)
	}
	loaded, err := app.Load(f.config)
	if err != nil {
		if data, rerr := os.ReadFile(f.config); rerr == nil {
			return placed(f.config, data, err)
		}
		return err
	}
	a, err := app.New(ctx, loaded.File.Keystore, app.Options{})
	if err != nil {
		return err
	}
	defer a.Close()
	snap, err := a.Compile(loaded.File, gateway.Meta{})
	if err != nil {
		return placed(f.config, loaded.Data, fmt.Errorf("%s: %w", f.config, err))
	}
	rawReq, err := readInput(f.request, stdin)
	if err != nil {
		return err
	}
	var rawResp []byte
	if f.response != "" {
		if rawResp, err = os.ReadFile(f.response); err != nil {
			return fmt.Errorf("--response: %w", err)
		}
	}
	keys := a.Keystore // redaction reads with the login signing uses
	if p, ok := snap.ProviderByName(f.provider); ok {
		keys = a.StoreFor(p.Tenant)
	}
	res, err := dryrun.Run(ctx, snap, dryrun.Input{
		Provider: f.provider, Tenant: f.tenant, Request: rawReq, Response: rawResp,
		Clock: clock, Reveal: f.reveal, Keys: keys, FetchToken: f.fetchToken, Explain: f.explain,
	})
	if err != nil {
		return err
	}
	if f.output == "json" {
		return writeJSONOut(stdout, SignReport{Provider: f.provider, Output: string(res.Output), Notes: res.Notes, Explain: res.Explain})
	}
	for _, n := range res.Notes {
		fmt.Fprintf(stderr, "note: %s\n", n)
	}
	for i, e := range res.Explain {
		fmt.Fprintf(stderr, "explain %d: %s\n", i+1, e)
	}
	_, err = stdout.Write(res.Output)
	return err
}

func readInput(name string, stdin io.Reader) ([]byte, error) {
	if name == "-" {
		b, err := io.ReadAll(stdin)
		if err != nil {
			return nil, fmt.Errorf("reading the request from standard input: %w", err)
		}
		return b, nil
	}
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("--request: %w", err)
	}
	return b, nil
}
