package versions

import (
	"context"
	"strings"
	"testing"
)

// TestRestorePrefersTheStoreOverAnOlderLastKnownGood: the last-known-good cache is for when the
// store is unusable; with the store up, Restore runs its newest version even when the cache
// holds an older one (written before another process stored the newer).
func TestRestorePrefersTheStoreOverAnOlderLastKnownGood(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	m, _, store := newTestManager(t, dir, nil)
	v1, err := m.Apply(ctx, testConfig("one"), "a", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Apply(ctx, testConfig("two"), "a", ""); err != nil {
		t.Fatal(err)
	}
	lkg := store.LastKnownGood()
	if err := lkg.Save(v1); err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	restarted := NewManager(Options{Store: store, Compile: rec.compile, LastKnownGood: lkg})
	v, err := restarted.Restore(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if v.Number != 2 || !strings.Contains(string(v.Config), "# two") {
		t.Fatalf("restored version %d, want the store's newest (2)", v.Number)
	}
}
