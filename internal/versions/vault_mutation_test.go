package versions

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/keygate/keygate/internal/vaulttest"
)

func testVaultStore(t *testing.T, keep int) (*VaultStore, *vaulttest.Server) {
	t.Helper()
	srv := vaulttest.Shared(t)
	prefix := "keygate-config-test/" + strings.ReplaceAll(t.Name(), "/", "_")
	return NewVaultStore(srv.Client(), VaultOptions{Prefix: prefix, Keep: keep}), srv
}

// readIndex reads the index as stored in Vault.
func readIndex(t *testing.T, s *VaultStore) map[string]any {
	t.Helper()
	sec, err := s.kv.Get(context.Background(), s.indexPath())
	if err != nil {
		t.Fatalf("read index: %v", err)
	}
	return sec.Data
}

// TestVaultIndexAdvancesPastAnAdoptedVersion: a writer died after storing version 1 and before
// writing the index. The next Put adopts version 1 (writing the index) and then advances the
// index to its own version 2, with the index's new KV version as check-and-set: the index
// must say 2, not be left behind for every later reader to repair again.
func TestVaultIndexAdvancesPastAnAdoptedVersion(t *testing.T) {
	ctx := context.Background()
	store, _ := testVaultStore(t, 5)
	orphan := `{"number":1,"hash":"h","author":"dead","config":"x: 1\n","time":"2026-01-01T00:00:00Z"}`
	if _, err := store.kv.Put(ctx, store.versionPath(1), map[string]any{"version": orphan}); err != nil {
		t.Fatal(err)
	}
	if err := store.Put(ctx, Version{Number: 2, Config: []byte("y: 1\n")}, 1); err != nil {
		t.Fatal(err)
	}
	idx := readIndex(t, store)
	if n, _ := asInt(idx["latest"]); n != 2 {
		t.Errorf("index latest %v after storing version 2, want 2", idx["latest"])
	}
	if n, _ := asInt(idx["oldest"]); n != 1 {
		t.Errorf("index oldest %v, want 1", idx["oldest"])
	}
}

// TestVaultStoreKeepsExactlyKeep: with keep 2, the third version drops the first.
func TestVaultStoreKeepsExactlyKeep(t *testing.T) {
	ctx := context.Background()
	store, _ := testVaultStore(t, 2)
	for n := 1; n <= 3; n++ {
		if err := store.Put(ctx, Version{Number: n, Config: []byte("a: 1\n")}, n-1); err != nil {
			t.Fatal(err)
		}
	}
	vs, err := store.List(ctx)
	if err != nil || len(vs) != 2 || vs[0].Number != 2 || vs[1].Number != 3 {
		t.Fatalf("kept %d versions (%v), want 2 and 3", len(vs), err)
	}
	if _, err := store.Get(ctx, 1); !errors.Is(err, ErrNotFound) {
		t.Errorf("version 1 not pruned: %v", err)
	}
}

// TestCorruptVaultIndexIsRefused: an index whose numbers are not numbers, or a soft-deleted one
// (someone with write access to the mount, a bad restore) is an error, never read as "no versions": that would
// start the history again at version 1 next to the versions still stored.
func TestCorruptVaultIndexIsRefused(t *testing.T) {
	ctx := context.Background()
	store, _ := testVaultStore(t, 5)
	if err := store.Put(ctx, Version{Number: 1, Config: []byte("a: 1\n")}, 0); err != nil {
		t.Fatal(err)
	}
	if v, err := store.Latest(ctx); err != nil || v.Number != 1 {
		t.Fatalf("latest of an intact index: %d, %v", v.Number, err)
	}
	for _, bad := range []map[string]any{
		{"latest": "one", "oldest": 1},
		{"latest": 1, "oldest": "one"},
		{"latest": 1.5, "oldest": 1}, // KV answers numbers as json.Number; 1.5 is no version
		{},
	} {
		if _, err := store.kv.Put(ctx, store.indexPath(), bad); err != nil {
			t.Fatal(err)
		}
		checkIndexRefused(t, store, fmt.Sprint(bad))
	}
	// Soft-deleted (vault kv delete): no data, the same refusal.
	if err := store.kv.Delete(ctx, store.indexPath()); err != nil {
		t.Fatal(err)
	}
	checkIndexRefused(t, store, "deleted")
}

func checkIndexRefused(t *testing.T, store *VaultStore, index string) {
	t.Helper()
	ctx := context.Background()
	if _, err := store.Latest(ctx); !errors.Is(err, ErrUnavailable) || errors.Is(err, ErrNotFound) {
		t.Errorf("latest with index %s: %v, want ErrUnavailable", index, err)
	}
	if err := store.Put(ctx, Version{Number: 1, Config: []byte("b: 1\n")}, 0); !errors.Is(err, ErrUnavailable) {
		t.Errorf("put with index %s: %v, want ErrUnavailable", index, err)
	}
}
