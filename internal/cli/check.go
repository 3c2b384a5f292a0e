package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/keygate/keygate/internal/app"
	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/internal/gateway"
	"github.com/keygate/keygate/internal/versions"
	"github.com/keygate/keygate/keystore"
)

// Problem is one thing `keygate check` found wrong, as -o json prints it.
type Problem struct {
	Path    string `json:"path,omitempty"`
	Line    int    `json:"line,omitempty"`
	Column  int    `json:"column,omitempty"`
	Message string `json:"message"`
	Hint    string `json:"hint,omitempty"`
}

// CheckReport is the whole result of `keygate check`; -o json prints it.
type CheckReport struct {
	File      string    `json:"file"`
	OK        bool      `json:"ok"`
	Providers int       `json:"providers,omitempty"`
	Hash      string    `json:"hash,omitempty"`
	Problems  []Problem `json:"problems,omitempty"`
	// Notes say what was not checked (Vault unreachable, Transit keys) and why.
	Notes []string `json:"notes,omitempty"`
}

func newCheckCmd() *cobra.Command {
	var path, output string
	var resolve bool
	cmd := &cobra.Command{
		Use:   "check [FILE]",
		Short: "Validate and compile a config without applying it; errors name the field, line and fix",
		Long: `check parses, validates and compiles a config exactly as serve and config apply would, and
reports every problem at once: field path (with list index), line and column, and a hint.

Secret references are checked for form (a vault: prefix or KV v2's secret/data/ path can never
resolve) and, in the file keystore, resolved: a missing path or field is an error. With --resolve
they are also resolved against Vault when it is reachable (values are never printed; Vault being
down is a note, not an error). A value written where a secret's name or reference belongs is
refused without being repeated.`,
		Example: `  keygate check keygate.yaml
  keygate check keygate.yaml --resolve        # also read every secret reference in Vault
  keygate check keygate.yaml -o json | jq '.problems[] | "\(.line): \(.message)"'`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			file, err := fileArg(path, args)
			if err != nil {
				return err
			}
			if err := checkOutput(output); err != nil {
				return err
			}
			rep := runCheck(cmd.Context(), file, resolve)
			if output == "json" {
				if err := writeJSONOut(cmd.OutOrStdout(), rep); err != nil {
					return err
				}
				if !rep.OK {
					return ErrReported
				}
				return nil
			}
			for _, n := range rep.Notes {
				fmt.Fprintf(cmd.ErrOrStderr(), "note: %s\n", n)
			}
			if !rep.OK {
				return errors.New(formatProblems(rep))
			}
			cmd.Printf("%s: ok, %d providers, %s\n", file, rep.Providers, rep.Hash)
			return nil
		},
	}
	cmd.Flags().StringVar(&path, "config", "", "keygate config file (or give it as the argument)")
	cmd.Flags().BoolVar(&resolve, "resolve", false, "also resolve every secret reference in Vault, when reachable (the file keystore is always resolved)")
	addOutputFlag(cmd, &output)
	return cmd
}

// fileArg is the config file, from the argument or --config (the older spelling), not both.
func fileArg(flag string, args []string) (string, error) {
	switch {
	case len(args) == 1 && flag != "" && flag != args[0]:
		return "", fmt.Errorf("config file given twice (%s and --config %s): give it once, as the argument", args[0], flag)
	case len(args) == 1:
		return args[0], nil
	case flag != "":
		return flag, nil
	}
	return "", errors.New("which config? give the file as the argument: keygate check keygate.yaml")
}

func formatProblems(rep CheckReport) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d problem(s)", rep.File, len(rep.Problems))
	for _, p := range rep.Problems {
		b.WriteString("\n")
		if p.Line > 0 {
			fmt.Fprintf(&b, "%s:%d:%d: ", rep.File, p.Line, p.Column)
		} else {
			fmt.Fprintf(&b, "%s: ", rep.File)
		}
		if p.Path != "" {
			b.WriteString(p.Path + ": ")
		}
		b.WriteString(p.Message)
		if p.Hint != "" {
			b.WriteString("\n    hint: " + p.Hint)
		}
	}
	return b.String()
}

// runCheck is `keygate check` without its output: what the tests call.
func runCheck(ctx context.Context, file string, resolve bool) CheckReport {
	rep := CheckReport{File: file}
	data, err := os.ReadFile(file)
	if err != nil {
		rep.Problems = []Problem{{Message: fmt.Sprintf("cannot read the config: %v", err)}}
		return rep
	}
	f, err := config.Parse(data)
	if err != nil {
		rep.Problems = problems(err, data)
		return rep
	}
	keysFile := ""
	if f.Keystore.File != nil {
		keysFile = f.Keystore.File.Path // as written, for messages
	}
	dir, _ := filepath.Abs(filepath.Dir(file))
	app.Prepare(f, dir)
	a, err := app.New(ctx, f.Keystore, app.Options{})
	if err != nil {
		rep.Problems = problems(config.Errorf("keystore", "%v", err), data)
		return rep
	}
	defer a.Close()
	snap, err := a.Compile(f, gateway.Meta{})
	if err != nil {
		rep.Problems = problems(err, data)
		return rep
	}
	if f.Admin.TokensFile != "" {
		// serve refuses to start on a tokens file it cannot read or parse.
		if _, _, err := config.ReadAdminTokensFile(f.Admin.TokensFile); err != nil {
			rep.Problems = problems(err, data)
			return rep
		}
	}
	var resolveErrs []error
	resolveErrs, rep.Notes = resolveRefs(ctx, f, a, resolve, keysFile)
	if len(resolveErrs) > 0 {
		rep.Problems = problems(errors.Join(resolveErrs...), data)
		return rep
	}
	rep.OK, rep.Providers, rep.Hash = true, len(snap.Providers()), config.Hash(data)
	return rep
}

// problems lists err's problems in document order, each placed in data.
func problems(err error, data []byte) []Problem {
	var out []Problem
	for _, e := range config.Flatten(config.Annotate(err, data)) {
		var fe *config.FieldError
		if errors.As(e, &fe) {
			out = append(out, Problem{Path: fe.Path, Line: fe.Line, Column: fe.Col, Message: fe.Msg, Hint: fe.Hint})
			continue
		}
		out = append(out, Problem{Message: e.Error()})
	}
	return out
}

// resolveRefs reads every KV secret reference in the keystore the provider's tenant reads with:
// always for the file keystore, with resolve for Vault (if it answers). It reports which
// references do not resolve, never a value.
func resolveRefs(ctx context.Context, f *config.File, a *app.App, resolve bool, keysFile string) ([]error, []string) {
	var notes []string
	vault := f.Keystore.Type == "vault"
	if vault && !resolve {
		return nil, []string{"secret references were checked for form only: add --resolve to read them in Vault"}
	}
	if vault {
		if c, ok := a.Keystore.(keystore.Checker); ok {
			rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			err := c.Ready(rctx)
			cancel()
			if err != nil {
				return nil, []string{fmt.Sprintf("Vault is not reachable (%v): secret references were checked for form only", err)}
			}
		}
	}
	where := "the file keystore"
	if vault {
		where = "Vault"
	} else if keysFile != "" {
		where = "the file keystore " + keysFile
	}
	var errs []error
	transit := 0
	for i, p := range f.Providers {
		store := a.StoreFor(p.Tenant)
		for _, name := range slices.Sorted(maps.Keys(p.Secrets)) {
			ref, err := keystore.ParseRef(p.Secrets[name])
			if err != nil {
				continue // Validate reported it
			}
			if ref.Kind != keystore.KV {
				transit++
				continue
			}
			path := fmt.Sprintf("providers[%d].secrets.%s", i, name)
			rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			_, err = store.Get(rctx, ref)
			cancel()
			switch {
			case err == nil:
			case errors.Is(err, keystore.ErrNotFound):
				errs = append(errs, config.Hinted(path, "correct the reference, or write the secret there",
					"%s does not resolve: no such path, field or version in %s", ref, where))
			case errors.Is(err, keystore.ErrDenied):
				errs = append(errs, config.Hinted(path, "grant the login keygate uses read access to it (docs/vault.md)",
					"%s: %s denies reading it", ref, where))
			default:
				notes = append(notes, fmt.Sprintf("%s: %s could not be read (%v); not checked", path, ref, err))
			}
		}
	}
	if transit > 0 && !vault {
		notes = append(notes, fmt.Sprintf("%d Transit key reference(s) need Vault: not checked", transit))
	} else if transit > 0 {
		notes = append(notes, fmt.Sprintf("%d Transit key reference(s) were checked for form only (their keys never leave Vault)", transit))
	}
	return errs, notes
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

// ErrReported ends a command whose failure is already written (-o json): main exits 1 without
// printing it again.
var ErrReported = errors.New("failed (reported above)")

func addOutputFlag(cmd *cobra.Command, output *string) {
	cmd.Flags().StringVarP(output, "output", "o", "text", "output format: text or json")
	_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions([]string{"text", "json"}, cobra.ShellCompDirectiveNoFileComp))
}

func checkOutput(o string) error {
	if o != "text" && o != "json" {
		return fmt.Errorf("-o %q: want text or json", o)
	}
	return nil
}

func writeJSONOut(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
