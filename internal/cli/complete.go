package cli

import (
	"os"
	"path/filepath"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/internal/versions"
)

// completeProviders completes --provider with the provider names of the file --config names.
// It only parses the file: nothing is opened or contacted while a shell completes.
func completeProviders(configPath *string) cobra.CompletionFunc {
	return func(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
		data, err := os.ReadFile(*configPath)
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		f, err := config.Parse(data)
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		names := make([]cobra.Completion, 0, len(f.Providers))
		for _, p := range f.Providers {
			desc := p.Tenant
			if len(p.Hosts) > 0 {
				desc = p.Hosts[0]
			}
			names = append(names, cobra.CompletionWithDesc(p.Name, desc))
		}
		return names, cobra.ShellCompDirectiveNoFileComp
	}
}

// completeVersions completes up to n version numbers from the state directory, newest first.
func completeVersions(stateDir *string, n int) cobra.CompletionFunc {
	return func(c *cobra.Command, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) >= n {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		dir := filepath.Join(*stateDir, "versions")
		if _, err := os.Stat(dir); err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp // completing creates nothing
		}
		store, err := versions.OpenDisk(dir, 0)
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		vs, err := versions.NewManager(versions.Options{Store: store}).History(c.Context())
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		out := make([]cobra.Completion, 0, len(vs))
		for i := len(vs) - 1; i >= 0; i-- {
			out = append(out, cobra.CompletionWithDesc(strconv.Itoa(vs[i].Number), printable(vs[i].Message)))
		}
		return out, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveKeepOrder
	}
}
