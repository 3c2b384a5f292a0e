package keystore_test

import (
	"context"
	"testing"
	"time"

	"github.com/keygate/keygate/keystore"
)

// TestPeekAnswersOnlyWhatIsFreshlyCached: Peek never calls the backend and answers only a
// fresh cached value; a miss, a remembered not-found and a value past its TTL (which Get may
// still serve stale) are left to Get.
func TestPeekAnswersOnlyWhatIsFreshlyCached(t *testing.T) {
	b := &countingStore{vals: map[string]string{"secret/a#k": "v"}}
	c := newTestCache(t, b, keystore.CacheOptions{TTL: 100 * time.Millisecond, NegativeTTL: time.Minute, StaleIfError: time.Minute})
	ctx := context.Background()
	ref, missing := mustRef(t, "secret/a#k"), mustRef(t, "secret/a#nope")
	if _, ok := c.Peek(ref); ok {
		t.Fatal("Peek answered before anything was cached")
	}
	if n := b.calls.Load(); n != 0 {
		t.Fatalf("Peek called the backend %d times", n)
	}
	if _, err := c.Get(ctx, ref); err != nil {
		t.Fatal(err)
	}
	_, _ = c.Get(ctx, missing)
	s, ok := c.Peek(ref)
	if !ok || string(s.Value.Reveal()) != "v" || s.Version != 1 {
		t.Fatalf("Peek after Get = (version %d, %v), want the cached value", s.Version, ok)
	}
	if _, ok := c.Peek(missing); ok {
		t.Fatal("Peek answered a remembered not-found as a value")
	}
	if hits := c.Stats().Hits; hits != 1 {
		t.Fatalf("hits = %d, want the one Peek that answered", hits)
	}
	b.set(true)                        // Vault down: Get would serve the value stale
	time.Sleep(150 * time.Millisecond) // past the TTL
	if _, ok := c.Peek(ref); ok {
		t.Fatal("Peek answered a value past its TTL")
	}
	if _, err := c.Get(ctx, ref); err != nil {
		t.Fatalf("Get past the TTL with Vault down: %v, want the stale value", err)
	}
	if n := b.calls.Load(); n != 3 {
		t.Fatalf("backend calls = %d, want 3 (two Gets, one retry past the TTL), none from Peek", n)
	}
}
