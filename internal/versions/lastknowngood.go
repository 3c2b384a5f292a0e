package versions

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// LastKnownGoodIn is the last-known-good file of a state directory (state.dir): where
// `keygate serve` saves it, falls back on it, and where `keygate config` keeps it current.
func LastKnownGoodIn(stateDir string) *LastKnownGood {
	return &LastKnownGood{Path: filepath.Join(stateDir, LastKnownGoodFile)}
}

// LastKnownGood is a local file holding the whole last version this machine applied (content
// and pins), replaced atomically on every apply. With a Vault-backed store it is the only copy
// a restart can read while Vault is unreachable.
type LastKnownGood struct {
	Path string
}

// Save replaces the file with v.
func (l *LastKnownGood) Save(v Version) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(l.Path), 0o700); err != nil {
		return err
	}
	return replaceFile(l.Path, data)
}

// Load reads the file; an error wraps ErrNotFound when there is none.
func (l *LastKnownGood) Load() (Version, error) {
	data, err := os.ReadFile(l.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return Version{}, fmt.Errorf("last-known-good %s: %w", l.Path, ErrNotFound)
	}
	if err != nil {
		return Version{}, fmt.Errorf("last-known-good %s: %w", l.Path, err)
	}
	var v Version
	if err := json.Unmarshal(data, &v); err != nil {
		return Version{}, fmt.Errorf("last-known-good %s is corrupt: %w", l.Path, err)
	}
	return v, nil
}
