package config

import (
	"os"
	"path/filepath"
)

// DefaultStateDir is where keygate keeps versions and the last-known-good config when
// state.dir is unset: $XDG_STATE_HOME/keygate, ~/.local/state/keygate, or ./.keygate.
func DefaultStateDir() string {
	if d := os.Getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "keygate")
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".local", "state", "keygate")
	}
	return ".keygate"
}

// StateDir is state.dir or the default.
func (f *File) StateDir() string {
	if f.State.Dir != "" {
		return f.State.Dir
	}
	return DefaultStateDir()
}
