package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/keygate/keygate/internal/app"
	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/internal/versions"
)

// NewConfigCommand is `keygate config`: history, show, diff, apply and rollback of the versioned
// config in a local state directory, usable offline. compile is run on every apply and rollback
// (nil: parse and validate only); secrets pins KV versions (nil: no pins, e.g. offline).
func NewConfigCommand(compileIn func(dir string) versions.Compiler, secrets versions.SecretVersions) *cobra.Command {
	var stateDir, author string
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Inspect and change the versioned configuration",
		Example: `  keygate config apply keygate.yaml -m "add provider pay"
  keygate config history
  keygate config diff 3 4
  keygate config rollback 3 -m "pay's new key is rejected"`,
	}
	cmd.PersistentFlags().StringVar(&stateDir, "state-dir", defaultStateDir(), "directory holding config versions and the last-known-good cache")
	cmd.PersistentFlags().StringVar(&author, "author", defaultAuthor(), "author recorded in new versions")

	// managerIn compiles with relative paths resolved against dir: the applied file's folder,
	// as in every other place a config file is read; else the working directory.
	managerIn := func(dir string) (*versions.Manager, error) {
		store, err := versions.OpenDisk(filepath.Join(stateDir, "versions"), 0)
		if err != nil {
			return nil, err
		}
		run := func(context.Context, *config.File, map[string]int) error { return nil }
		if compileIn != nil {
			run = compileIn(dir)
		}
		return versions.NewManager(versions.Options{Store: store, Compile: run, Secrets: secrets,
			LastKnownGood: versions.LastKnownGoodIn(stateDir)}), nil
	}
	manager := func() (*versions.Manager, error) {
		wd, _ := os.Getwd()
		return managerIn(wd)
	}

	var historyOut, showOut, diffOut string
	history := &cobra.Command{
		Use: "history", Short: "List the kept versions", Args: cobra.NoArgs,
		Example: `  keygate config history
  keygate config history --state-dir /var/lib/keygate`,
		RunE: func(c *cobra.Command, _ []string) error {
			m, err := manager()
			if err != nil {
				return err
			}
			vs, err := m.History(c.Context())
			if err != nil {
				return err
			}
			if historyOut == "json" {
				metas := make([]versions.Version, 0, len(vs))
				for _, v := range vs {
					metas = append(metas, v.Meta())
				}
				return writeJSONOut(c.OutOrStdout(), metas)
			}
			w := tabwriter.NewWriter(c.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "VERSION\tTIME\tAUTHOR\tHASH\tMESSAGE")
			for _, v := range vs {
				fmt.Fprintf(w, "%d\t%s\t%s\t%.19s\t%s\n", v.Number, v.Time.Format("2006-01-02 15:04:05"), printable(v.Author), v.Hash, printable(v.Message))
			}
			return w.Flush()
		},
	}

	addOutputFlag(history, &historyOut)
	history.PreRunE = func(*cobra.Command, []string) error { return checkOutput(historyOut) }

	show := &cobra.Command{
		Use: "show [N]", Short: "Print a version's YAML (default the latest) and its pinned secret versions", Args: cobra.MaximumNArgs(1),
		Example: `  keygate config show
  keygate config show 3 > keygate-v3.yaml`,
		ValidArgsFunction: completeVersions(&stateDir, 1),
		RunE: func(c *cobra.Command, args []string) error {
			m, err := manager()
			if err != nil {
				return err
			}
			var v versions.Version
			if len(args) == 0 {
				vs, err := m.History(c.Context())
				if err != nil {
					return err
				}
				if len(vs) == 0 {
					return fmt.Errorf("no versions in %s", stateDir)
				}
				v = vs[len(vs)-1]
			} else {
				n, err := versionArg(args[0])
				if err != nil {
					return err
				}
				if v, err = m.Get(c.Context(), n); err != nil {
					return err
				}
			}
			out := c.OutOrStdout()
			if showOut == "json" {
				return writeJSONOut(out, struct {
					versions.Version
					Config string `json:"config"`
				}{v.Meta(), string(v.Config)})
			}
			fmt.Fprintf(out, "# version %d by %s at %s: %s\n", v.Number, printable(v.Author), v.Time.Format("2006-01-02 15:04:05"), printable(v.Message))
			for _, p := range versions.DiffPins(nil, v.SecretVersions) {
				fmt.Fprintf(out, "# pinned %s@%d\n", p.Ref, p.To)
			}
			_, err = out.Write(v.Config)
			return err
		},
	}

	addOutputFlag(show, &showOut)
	show.PreRunE = func(*cobra.Command, []string) error { return checkOutput(showOut) }

	diff := &cobra.Command{
		Use: "diff A B", Short: "Show what changed from version A to version B", Args: cobra.ExactArgs(2),
		Example:           `  keygate config diff 3 4`,
		ValidArgsFunction: completeVersions(&stateDir, 2),
		RunE: func(c *cobra.Command, args []string) error {
			a, err := versionArg(args[0])
			if err != nil {
				return err
			}
			b, err := versionArg(args[1])
			if err != nil {
				return err
			}
			m, err := manager()
			if err != nil {
				return err
			}
			d, err := m.Diff(c.Context(), a, b)
			if err != nil {
				return err
			}
			out := c.OutOrStdout()
			if diffOut == "json" {
				return writeJSONOut(out, d)
			}
			fmt.Fprint(out, d.Text)
			for _, p := range d.Pins {
				fmt.Fprintf(out, "pin %s: %d -> %d\n", p.Ref, p.From, p.To)
			}
			return nil
		},
	}

	addOutputFlag(diff, &diffOut)
	diff.PreRunE = func(*cobra.Command, []string) error { return checkOutput(diffOut) }

	var applyMsg string
	apply := &cobra.Command{
		Use: "apply FILE", Short: "Validate, compile and store FILE as a new version", Args: cobra.ExactArgs(1),
		Example: `  keygate config apply keygate.yaml -m "rotate pay's key"`,
		RunE: func(c *cobra.Command, args []string) error {
			data, err := os.ReadFile(args[0])
			if err != nil {
				return err
			}
			abs, err := filepath.Abs(args[0])
			if err != nil {
				return err
			}
			m, err := managerIn(filepath.Dir(abs))
			if err != nil {
				return err
			}
			prev := latest(c.Context(), m)
			v, err := m.Apply(c.Context(), data, author, applyMsg)
			if err != nil {
				return placed(args[0], data, err)
			}
			fmt.Fprintf(c.OutOrStdout(), "version %d (%s)\n", v.Number, v.Hash)
			warnRestartRequired(c.ErrOrStderr(), stateDir, filepath.Dir(abs), prev, v)
			return nil
		},
	}
	apply.Flags().StringVarP(&applyMsg, "message", "m", "", "why this change")

	var rollbackMsg string
	rollback := &cobra.Command{
		Use: "rollback N", Short: "Make a new version with version N's content and pinned secret versions", Args: cobra.ExactArgs(1),
		Example:           `  keygate config rollback 3 -m "pay rejects the new key"`,
		ValidArgsFunction: completeVersions(&stateDir, 1),
		RunE: func(c *cobra.Command, args []string) error {
			n, err := versionArg(args[0])
			if err != nil {
				return err
			}
			m, err := manager()
			if err != nil {
				return err
			}
			prev := latest(c.Context(), m)
			v, err := m.Rollback(c.Context(), n, author, rollbackMsg)
			if err != nil {
				return err
			}
			fmt.Fprintf(c.OutOrStdout(), "version %d (rollback to %d)\n", v.Number, n)
			wd, _ := os.Getwd()
			warnRestartRequired(c.ErrOrStderr(), stateDir, wd, prev, v)
			return nil
		},
	}
	rollback.Flags().StringVarP(&rollbackMsg, "message", "m", "", "why this rollback")

	cmd.AddCommand(history, show, diff, apply, rollback)
	return cmd
}

// latest is the newest stored version, the one a new version replaces (zero: none or unreadable).
func latest(ctx context.Context, m *versions.Manager) versions.Version {
	vs, err := m.History(ctx)
	if err != nil || len(vs) == 0 {
		return versions.Version{}
	}
	return vs[len(vs)-1]
}

func versionArg(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("version %q is not a positive integer", s)
	}
	return n, nil
}

// defaultStateDir is the same folder `keygate serve` keeps its versions in.
// defaultStateDir is where `keygate serve` keeps its state without a config file to say:
// KEYGATE_STATE_DIR, else the default.
func defaultStateDir() string {
	var f config.File
	app.Prepare(&f, ".")
	return f.StateDir()
}

func defaultAuthor() string {
	if u := os.Getenv("USER"); u != "" {
		return u
	}
	return "cli"
}

// placed reports a config's problems as check does (file:line:col, path, hint) when err holds
// field errors, and err itself otherwise.
func placed(file string, data []byte, err error) error {
	ps := problems(err, data)
	for _, p := range ps {
		if p.Line > 0 {
			return errors.New(formatProblems(CheckReport{File: file, Problems: ps}))
		}
	}
	return err
}
