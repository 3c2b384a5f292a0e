package cli

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// Version and Commit are stamped at build time (Makefile, Dockerfile):
//
//	-ldflags "-X github.com/keygate/keygate/internal/cli.Version=v1.2.3 -X github.com/keygate/keygate/internal/cli.Commit=abc1234"
//
// Unstamped, they come from the module and VCS information Go records in the binary.
var (
	Version = "dev"
	Commit  = ""
)

// EnvoyAPI is the Envoy API keygate speaks: ext_proc and xDS (ADS), both v3.
const EnvoyAPI = "v3"

// VersionInfo is what `keygate version` prints.
type VersionInfo struct {
	Version   string `json:"version"`
	Commit    string `json:"commit"`
	Modified  bool   `json:"modified,omitempty"` // built from a tree with uncommitted changes
	Go        string `json:"go"`
	EnvoyAPI  string `json:"envoy_api"`
	ControlGo string `json:"go_control_plane,omitempty"` // the Envoy API protos keygate is built with
}

func (v VersionInfo) String() string {
	commit := v.Commit
	if commit == "" {
		commit = "unknown"
	}
	if v.Modified {
		commit += "-dirty"
	}
	s := fmt.Sprintf("%s (commit %s, %s, Envoy API %s", v.Version, commit, v.Go, v.EnvoyAPI)
	if v.ControlGo != "" {
		s += " via go-control-plane " + v.ControlGo
	}
	return s + ")"
}

func versionInfo() VersionInfo {
	v := VersionInfo{Version: Version, Commit: Commit, Go: runtime.Version(), EnvoyAPI: EnvoyAPI}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return v
	}
	if v.Version == "dev" && info.Main.Version != "" && info.Main.Version != "(devel)" {
		v.Version = info.Main.Version
	}
	for _, s := range info.Settings {
		switch {
		case s.Key == "vcs.revision" && v.Commit == "":
			v.Commit = s.Value
		case s.Key == "vcs.modified" && Commit == "":
			v.Modified = s.Value == "true"
		}
	}
	for _, d := range info.Deps {
		if d.Path == "github.com/envoyproxy/go-control-plane/envoy" {
			v.ControlGo = d.Version
		}
	}
	return v
}

func newVersionCmd() *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print keygate's version, commit, and the Envoy API version it speaks",
		Example: `  keygate version
  keygate version -o json | jq -r .commit
  keygate --version`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			v := versionInfo()
			if output == "json" {
				return writeJSONOut(cmd.OutOrStdout(), v)
			}
			cmd.Printf("keygate %s\n", v)
			return nil
		},
	}
	addOutputFlag(cmd, &output)
	return cmd
}
