package cli

import (
	"fmt"
	"io"
	"log/slog"

	"github.com/spf13/cobra"

	"github.com/keygate/keygate/internal/devstack"
)

func newDevCmd(logger func() *slog.Logger) *cobra.Command {
	opts := devstack.Options{DocumentedPorts: true, Serve: true}
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Run keygate, an Envoy emulator as egress, and a demo provider, all on loopback",
		Long: `dev runs the whole request path on this machine without Docker or Envoy: keygate's
ext_proc server, a Go emulator of Envoy's ext_proc filter and router as the egress, and a demo
provider that speaks the design article's protocol. It uses the embedded example config and
its FILE KEYSTORE (development only). It prints a curl that goes through the egress.`,
		Example: `  keygate dev
  keygate dev --log-level debug
  curl -s http://127.0.0.1:10000/echo -H 'Host: demo.egress.local' -d '{"data":"{\"amount\":7}"}'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.Logger = logger()
			s, err := devstack.Start(cmd.Context(), opts)
			if err != nil {
				return err
			}
			defer s.Close()
			printDevBanner(cmd.OutOrStdout(), s)
			<-cmd.Context().Done()
			fmt.Fprintln(cmd.OutOrStdout(), "keygate dev: stopping")
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.EgressAddr, "egress", "127.0.0.1:10000", "where the emulated egress listens")
	fl.StringVar(&opts.ExtProcAddr, "ext-proc", "", "where keygate's ext_proc server listens (default from the config)")
	fl.StringVar(&opts.ProviderAddr, "provider", devstack.DemoProviderAddr, "where the demo provider listens")
	fl.StringVar(&opts.XDSAddr, "xds", "", "where keygate's xDS server listens (default from the config)")
	fl.StringVar(&opts.AdminAddr, "admin", "", "where keygate's admin API listens (default from the config)")
	fl.StringVar(&opts.ConfigDir, "config-dir", "", "folder with keygate.yaml to run instead of the embedded example")
	return cmd
}

func printDevBanner(w io.Writer, s *devstack.Stack) {
	fmt.Fprintf(w, `
keygate dev is running (press Ctrl-C to stop): keygate serve itself, and around it

  egress      %s   <- an EMULATOR of Envoy's ext_proc filter and router, not Envoy
  ext_proc    %s
  xDS (ADS)   %s   (the egress takes its listener, routes and clusters from here)
  admin API   http://%s   (/v1, /metrics, /readyz; docs/admin.md)
  console     http://%s/ui/   (web console: providers, versions, audit, script playground; docs/console.md)
  provider    %s   (demo provider, the design article's protocol)
  keystore    %s
`, s.EgressURL, s.ExtProc, s.XDSAddr, s.AdminAddr, s.AdminAddr, s.Upstream, keystoreLine(s))
	if tok := s.AdminToken; !tok.IsZero() {
		// The one place this run's admin token is shown: it is made for this run and dies with it.
		fmt.Fprintf(w, `
Admin token for this run (gateway admin); it is also the console's dev login (paste it at
http://%s/ui/):

  export KEYGATE_TOKEN=%s
  curl -s http://%s/v1/audit -H "Authorization: Bearer $KEYGATE_TOKEN"
`, s.AdminAddr, tok.Reveal(), s.AdminAddr)
	} else {
		fmt.Fprintf(w, "\nConsole login: one of the admin tokens of this config (admin.tokens) or a JWT of its admin.jwt issuer.\n")
	}
	fmt.Fprintln(w, "\nSend a plain request to a provider; keygate signs it on the way out:")
	for _, p := range s.Config.File.Providers {
		if len(p.Hosts) == 0 {
			continue
		}
		fmt.Fprintf(w, `
  # %s
  curl -s %s/orders -H 'Host: %s' -H 'Content-Type: application/json' \
    -d '{"data":"{\"amount\":100}","timestamp":"1700000000"}'
`, p.Name, s.EgressURL, p.Hosts[0])
	}
	fmt.Fprintln(w)
}

func keystoreLine(s *devstack.Stack) string {
	if ks := s.Config.File.Keystore; ks.File != nil && ks.Type != "vault" {
		return ks.File.Path + "   (FILE KEYSTORE: development only, keys in clear)"
	}
	if v := s.Config.File.Keystore.Vault; v != nil {
		return "vault " + v.Address
	}
	return "(none)"
}
