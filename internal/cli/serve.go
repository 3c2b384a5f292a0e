package cli

import (
	"log/slog"
	"time"

	"github.com/spf13/cobra"

	"github.com/keygate/keygate/internal/daemon"
)

func newServeCmd(logger func() *slog.Logger) *cobra.Command {
	var opts daemon.Options
	cmd := &cobra.Command{
		Use:   "serve --config FILE",
		Short: "Serve ext_proc for Envoy, xDS, and the admin API",
		Long: `serve runs keygate in production: the ext_proc gRPC server Envoy calls, the xDS server
that configures Envoy, and the admin API (/v1, /metrics, /healthz, /readyz). Environment
variables KEYGATE_LISTEN_EXT_PROC, KEYGATE_LISTEN_ADMIN, KEYGATE_LISTEN_XDS,
KEYGATE_KEYSTORE_VAULT_ADDRESS ... override the config. SIGTERM drains in-flight requests.
Run keygate check on the file first: it reports every problem at once, with line numbers.`,
		Example: `  keygate check keygate.yaml && keygate serve --config keygate.yaml
  keygate serve --config keygate.yaml --log-format json --log-level warn
  KEYGATE_LISTEN_ADMIN=0.0.0.0:18081 keygate serve --config keygate.yaml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.Logger = logger()
			opts.SetMemoryLimit = true
			return daemon.Run(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.ConfigPath, "config", "", "keygate config file (required)")
	fl.DurationVar(&opts.DrainTimeout, "drain-timeout", 20*time.Second, "how long SIGTERM waits for in-flight requests")
	fl.DurationVar(&opts.DrainDelay, "drain-delay", 2*time.Second, "how long SIGTERM keeps accepting new requests while reporting NOT_SERVING, so Envoy's health checks notice")
	fl.BoolVar(&opts.ConfigFileWins, "config-file-wins", false, "apply edits of the config file even when they drop changes made since through the admin API or keygate config (refused and logged otherwise)")
	_ = cmd.MarkFlagRequired("config")
	return cmd
}
