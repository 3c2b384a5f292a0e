package app

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keygate/keygate/internal/gateway"
	"github.com/keygate/keygate/keystore"
)

// TestReadmeConfigCompiles keeps the README's provider YAML reference true: it must parse,
// validate and compile with the schemes it shows.
func TestReadmeConfigCompiles(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var block string
	for _, part := range strings.Split(string(readme), "```yaml\n")[1:] {
		body, _, _ := strings.Cut(part, "```")
		if strings.Contains(body, "providers:") {
			block = body
		}
	}
	if block == "" {
		t.Fatal("README has no yaml block with providers")
	}
	loaded, err := LoadBytes([]byte(block), t.TempDir(), "README.md")
	if err != nil {
		t.Fatalf("README config does not parse: %v", err)
	}
	keys := filepath.Join(t.TempDir(), "keys.yaml")
	if err := os.WriteFile(keys, []byte("secret/x:\n  y: z\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	store, err := keystore.OpenFile(keys, discard())
	if err != nil {
		t.Fatal(err)
	}
	a, err := New(context.Background(), loaded.File.Keystore, Options{Keystore: store})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Compile(loaded.File, gateway.Meta{}); err != nil {
		t.Fatalf("README config does not compile: %v", err)
	}
}

// TestScriptMemoryCeilingComesFromTheConfig: a provider may not ask for more script memory than
// limits.script_memory_bytes allows (the operator's ceiling, read at start).
func TestScriptMemoryCeilingComesFromTheConfig(t *testing.T) {
	cfg := []byte("providers:\n  - name: s\n    hosts: [s.egress.local]\n    upstream: {url: \"https://s.example\"}\n" +
		"    script: {memory_bytes: 16777216, inline: \"function (reqHeaders, reqParams, reqBody) {}\"}\n")
	for _, c := range []struct {
		ceiling int64
		ok      bool
	}{{0, true}, {8 << 20, false}, {16 << 20, true}} {
		loaded, err := LoadBytes(cfg, t.TempDir(), "inline")
		if err != nil {
			t.Fatal(err)
		}
		a, err := New(context.Background(), loaded.File.Keystore, Options{ScriptMaxMemory: c.ceiling})
		if err != nil {
			t.Fatal(err)
		}
		_, err = a.Compile(loaded.File, gateway.Meta{})
		_ = a.Close()
		if (err == nil) != c.ok || (err != nil && !strings.Contains(err.Error(), "memory_bytes")) {
			t.Errorf("ceiling %d: %v, want ok=%v", c.ceiling, err, c.ok)
		}
	}
}
