package versions

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/keygate/keygate/internal/vaulttest"
)

func TestMain(m *testing.M) { os.Exit(vaulttest.Main(m)) }

func TestVaultStore(t *testing.T) {
	ctx := context.Background()
	srv := vaulttest.Shared(t)
	store := NewVaultStore(srv.Client(), VaultOptions{Prefix: "keygate-config-test/" + strings.ReplaceAll(t.Name(), "/", "_"), Keep: 3})

	if _, err := store.Latest(ctx); !errors.Is(err, ErrNotFound) {
		t.Fatalf("empty store: %v", err)
	}
	rec := &recorder{}
	sv := &fakeSecrets{version: 1}
	m := NewManager(Options{Store: store, Compile: rec.compile, Secrets: sv, LastKnownGood: &LastKnownGood{Path: t.TempDir() + "/lkg.json"}})
	if _, err := m.Apply(ctx, testConfig("one"), "a", "first"); err != nil {
		t.Fatal(err)
	}
	sv.version = 2
	if _, err := m.Apply(ctx, testConfig("two"), "a", "second"); err != nil {
		t.Fatal(err)
	}
	v3, err := m.Rollback(ctx, 1, "ops", "")
	if err != nil {
		t.Fatal(err)
	}
	if v3.Number != 3 || string(v3.Config) != string(testConfig("one")) || v3.SecretVersions["secret/keygate/pay#app_secret"] != 1 {
		t.Fatalf("rollback in Vault: %+v", v3.Meta())
	}
	got, err := store.Get(ctx, 3)
	if err != nil || got.Hash != v3.Hash || got.SecretVersions["secret/keygate/pay#app_secret"] != 1 || got.RollbackOf != 1 {
		t.Fatalf("stored v3: %+v %v", got.Meta(), err)
	}

	t.Run("cas between replicas", func(t *testing.T) {
		replica := NewVaultStore(srv.Client(), store.opts)
		v := Version{Number: 4, Config: []byte("a: 1\n")}
		if err := replica.Put(ctx, v, 3); err != nil {
			t.Fatal(err)
		}
		if err := store.Put(ctx, v, 3); !errors.Is(err, ErrConflict) {
			t.Fatalf("second writer of version 4: %v", err)
		}
	})
	t.Run("orphan version adopted", func(t *testing.T) {
		// A writer died after storing version 5 and before advancing the index.
		data := `{"number":5,"hash":"h","author":"dead","config":"x: 1\n","time":"2026-01-01T00:00:00Z"}`
		if _, err := srv.Client().KVv2("secret").Put(ctx, store.versionPath(5), map[string]any{"version": data}); err != nil {
			t.Fatal(err)
		}
		l, err := store.Latest(ctx)
		if err != nil || l.Number != 5 || l.Author != "dead" {
			t.Fatalf("latest: %d %v", l.Number, err)
		}
	})
	t.Run("retention", func(t *testing.T) {
		if err := store.Put(ctx, Version{Number: 6, Config: []byte("y: 1\n")}, 5); err != nil {
			t.Fatal(err)
		}
		h, err := store.List(ctx)
		if err != nil || len(h) != 3 || h[0].Number != 4 || h[2].Number != 6 {
			t.Fatalf("kept %d versions: %v", len(h), err)
		}
		if _, err := store.Get(ctx, 1); !errors.Is(err, ErrNotFound) {
			t.Fatalf("version 1 not pruned: %v", err)
		}
	})
	t.Run("vault down serves last-known-good", func(t *testing.T) {
		down := vaulttest.Start(t)
		dstore := NewVaultStore(down.Client(), VaultOptions{})
		lkg := &LastKnownGood{Path: t.TempDir() + "/lkg.json"}
		first := NewManager(Options{Store: dstore, Compile: (&recorder{}).compile, LastKnownGood: lkg})
		if _, err := first.Apply(ctx, testConfig("before outage"), "a", ""); err != nil {
			t.Fatal(err)
		}
		down.Stop()
		rec := &recorder{}
		restarted := NewManager(Options{Store: NewVaultStore(down.Client(), VaultOptions{}), Compile: rec.compile, LastKnownGood: lkg})
		v, err := restarted.Restore(ctx)
		if err != nil || v.Number != 1 || rec.calls != 1 {
			t.Fatalf("restore with Vault down: %d %v", v.Number, err)
		}
	})
}
