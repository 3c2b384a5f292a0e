package cli

import (
	"errors"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/keygate/keygate/examples/demoprovider"
	"github.com/keygate/keygate/internal/devstack"
)

func newDemoProviderCmd(logger func() *slog.Logger) *cobra.Command {
	var addr string
	cmd := &cobra.Command{
		Use:     "demo-provider",
		Short:   "Run the demo third-party API alone (the protocol the examples sign for), for docker-compose",
		Example: `  keygate demo-provider --addr 127.0.0.1:18090`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log := logger()
			srv := &http.Server{Addr: addr, ReadHeaderTimeout: 5 * time.Second,
				Handler: demoprovider.New(demoCredentialsFromEnv(), demoprovider.Options{})}
			go func() {
				<-cmd.Context().Done()
				_ = srv.Close()
			}()
			log.Info("demo provider listening", "addr", addr)
			if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&addr, "listen", devstack.DemoProviderAddr, "address to listen on")
	return cmd
}

// demoCredentialsFromEnv takes the demo merchant's keys from DEMO_APP_KEY, DEMO_APP_SECRET,
// DEMO_AES_KEY and DEMO_AES_IV (docker-compose's deploy/demo.env), defaulting each to the
// embedded dev keys.
func demoCredentialsFromEnv() demoprovider.Credentials {
	c := devstack.DemoCredentials
	if v := os.Getenv("DEMO_APP_KEY"); v != "" {
		c.AppKey = v
	}
	if v := os.Getenv("DEMO_APP_SECRET"); v != "" {
		c.AppSecret = v
	}
	if v := os.Getenv("DEMO_AES_KEY"); v != "" {
		c.AESKey = []byte(v)
	}
	if v := os.Getenv("DEMO_AES_IV"); v != "" {
		c.AESIV = []byte(v)
	}
	return c
}
