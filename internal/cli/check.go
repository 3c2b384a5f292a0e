package cli

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/keygate/keygate/internal/app"
	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/internal/gateway"
	"github.com/keygate/keygate/internal/versions"
)

func newCheckCmd() *cobra.Command {
	var path string
	cmd := &cobra.Command{
		Use:   "check --config FILE",
		Short: "Validate and compile a config without applying it; errors name the field",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			loaded, err := app.Load(path)
			if err != nil {
				return err
			}
			a, err := app.New(cmd.Context(), loaded.File.Keystore, app.Options{})
			if err != nil {
				return err
			}
			defer a.Close()
			snap, err := a.Compile(loaded.File, gateway.Meta{})
			if err != nil {
				return fmt.Errorf("%s:\n%w", path, err)
			}
			cmd.Printf("%s: ok, %d providers, %s\n", path, len(snap.Providers()), config.Hash(loaded.Data))
			return nil
		},
	}
	cmd.Flags().StringVar(&path, "config", "", "keygate config file (required)")
	_ = cmd.MarkFlagRequired("config")
	return cmd
}

// compileOffline is what `keygate config apply|rollback` runs before storing a version: the
// same compile `keygate serve` runs, with the keystore the config names (Vault being down does
// not fail it: references are checked, values are not read). Relative paths in the config
// are relative to dir.
func compileOffline(dir string) versions.Compiler {
	return func(ctx context.Context, f *config.File, pins map[string]int) error {
		app.Prepare(f, dir)
		a, err := app.New(ctx, f.Keystore, app.Options{})
		if err != nil {
			return err
		}
		defer a.Close()
		_, err = a.Compile(f, gateway.Meta{Pins: pins})
		return err
	}
}
