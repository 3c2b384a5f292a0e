// Package cli is keygate's command line: serve, dev, sign, config, demo-provider, version.
// Main is the whole program and is what tests call.
package cli

import (
	"context"
	"io"
	"log/slog"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// Version is set at build time with -ldflags "-X github.com/keygate/keygate/internal/cli.Version=v1.2.3".
var Version = "dev"

// Main runs keygate with args (without the program name). It returns instead of exiting.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	root := newRoot(stdout, stderr)
	root.SetArgs(args)
	return root.ExecuteContext(ctx)
}

func newRoot(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:           "keygate",
		Short:         "keygate signs and encrypts your egress with keys your services never see",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	var logLevel string
	root.PersistentFlags().StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	logger := func() *slog.Logger {
		var lvl slog.Level
		if err := lvl.UnmarshalText([]byte(logLevel)); err != nil {
			lvl = slog.LevelInfo
		}
		return slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: lvl}))
	}
	root.AddCommand(
		newVersionCmd(),
		newSignCmd(),
		newServeCmd(logger),
		newDevCmd(logger),
		newDemoProviderCmd(logger),
		newCheckCmd(),
		NewConfigCommand(compileOffline, nil),
	)
	return root
}

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print keygate's version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v := Version
			if info, ok := debug.ReadBuildInfo(); ok && v == "dev" && info.Main.Version != "" && info.Main.Version != "(devel)" {
				v = info.Main.Version
			}
			cmd.Printf("keygate %s\n", v)
			return nil
		},
	}
}
