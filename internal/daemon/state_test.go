package daemon

import (
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/keygate/keygate/internal/versions"
)

// TestBootFallsBackToLastKnownGoodInStateDir: when the config file cannot be read, keygate
// serve starts from the last-known-good version in the state directory the environment names
// (KEYGATE_STATE_DIR), the same file it saves there.
func TestBootFallsBackToLastKnownGoodInStateDir(t *testing.T) {
	state := t.TempDir()
	t.Setenv("KEYGATE_STATE_DIR", state)
	cfg := []byte("providers:\n  - name: api\n    hosts: [api.egress.local]\n    upstream: {url: \"https://api.example.test\"}\n")
	if err := versions.LastKnownGoodIn(state).Save(versions.Version{Number: 7, Config: cfg}); err != nil {
		t.Fatal(err)
	}
	loaded, err := bootConfig(filepath.Join(t.TempDir(), "missing.yaml"), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("no fallback to %s: %v", state, err)
	}
	if len(loaded.File.Providers) != 1 || loaded.File.Providers[0].Name != "api" {
		t.Fatalf("booted from %+v, want the last-known-good version", loaded.File.Providers)
	}
}
