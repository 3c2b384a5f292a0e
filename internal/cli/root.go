// Package cli is keygate's command line: serve, dev, check, sign, config, admin, demo-provider,
// version. Main is the whole program and is what tests call.
package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/spf13/cobra"
)

// Main runs keygate with args (without the program name). It returns instead of exiting.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	root := newRoot(stdout, stderr)
	root.SetArgs(args)
	return root.ExecuteContext(ctx)
}

// logFlags are the persistent --log-level and --log-format, checked before any command runs.
type logFlags struct{ level, format string }

func (l *logFlags) check() error {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(l.level)); err != nil {
		return fmt.Errorf("--log-level %q: want debug, info, warn or error", l.level)
	}
	if l.format != "text" && l.format != "json" {
		return fmt.Errorf("--log-format %q: want text or json", l.format)
	}
	return nil
}

func (l *logFlags) logger(w io.Writer) *slog.Logger {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(l.level)) // checked in PersistentPreRunE
	opts := &slog.HandlerOptions{Level: lvl}
	if l.format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func newRoot(stdout, stderr io.Writer) *cobra.Command {
	var logs logFlags
	root := &cobra.Command{
		Use:   "keygate",
		Short: "keygate signs and encrypts your egress with keys your services never see",
		Example: `  keygate dev                                  # everything on loopback, with a demo provider
  keygate check keygate.yaml                   # what serve would refuse, with line numbers
  keygate sign --config keygate.yaml --provider pay --request req.http
  keygate serve --config keygate.yaml --log-format json`,
		Version:       versionInfo().String(),
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(*cobra.Command, []string) error {
			return logs.check()
		},
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetVersionTemplate("keygate {{.Version}}\n")
	pf := root.PersistentFlags()
	pf.StringVar(&logs.level, "log-level", "info", "debug, info, warn or error")
	pf.StringVar(&logs.format, "log-format", "text", "text or json (one JSON object per line)")
	_ = root.RegisterFlagCompletionFunc("log-level", cobra.FixedCompletions([]string{"debug", "info", "warn", "error"}, cobra.ShellCompDirectiveNoFileComp))
	_ = root.RegisterFlagCompletionFunc("log-format", cobra.FixedCompletions([]string{"text", "json"}, cobra.ShellCompDirectiveNoFileComp))
	logger := func() *slog.Logger { return logs.logger(stderr) }
	root.AddCommand(
		newVersionCmd(),
		newSignCmd(),
		newServeCmd(logger),
		newDevCmd(logger),
		newDemoProviderCmd(logger),
		newCheckCmd(),
		NewConfigCommand(compileOffline, nil),
		newAdminCmd(),
		newHealthcheckCmd(),
	)
	root.InitDefaultCompletionCmd()
	for _, c := range root.Commands() {
		if c.Name() != "completion" {
			continue
		}
		c.Example = `  source <(keygate completion bash)
  keygate completion zsh > "${fpath[1]}/_keygate"
  keygate sign --config keygate.yaml --provider <TAB>   # completes the config's providers`
		for _, sh := range c.Commands() {
			sh.Example = "  keygate completion " + sh.Name() + " --help   # where to install it"
		}
	}
	return root
}

// needExamples lists the commands of root without an Examples section (a test keeps it empty).
func needExamples(root *cobra.Command) []string {
	var missing []string
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.IsAvailableCommand() && c.Name() != "help" && strings.TrimSpace(c.Example) == "" {
			missing = append(missing, c.CommandPath())
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	return missing
}
