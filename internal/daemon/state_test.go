package daemon

import (
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keygate/keygate/internal/app"
	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/internal/versions"
	"github.com/keygate/keygate/xds"
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

// TestLiveConfigCannotRaiseTheBodyLimit: the ext_proc gRPC server's message size is fixed when
// keygate serve starts, so a live config may lower limits.max_body_bytes but not raise it.
func TestLiveConfigCannotRaiseTheBodyLimit(t *testing.T) {
	a, err := app.New(context.Background(), config.Keystore{}, app.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	pub := &publisher{app: a, xds: xds.NewServerWithOptions(slog.New(slog.DiscardHandler), xds.Options{}), dir: t.TempDir(), maxBody: 1 << 20}
	file := func(limit int64) *config.File {
		return &config.File{Limits: config.Limits{MaxBodyBytes: limit}, Providers: []config.Provider{{
			Name: "api", Hosts: []string{"api.egress.local"}, Upstream: config.Upstream{URL: "https://api.example.test"}}}}
	}
	if err := pub.compile(context.Background(), file(2<<20), nil); err == nil || !strings.Contains(err.Error(), "limits.max_body_bytes") {
		t.Fatalf("raising the limit live: %v, want a refusal naming limits.max_body_bytes", err)
	}
	if err := pub.compile(context.Background(), file(512<<10), nil); err != nil {
		t.Fatalf("lowering the limit live: %v", err)
	}
}
