package keystore_test

import (
	"context"
	"testing"
	"time"

	"github.com/keygate/keygate/keystore"
)

// The stale-if-error window's three rules, each a mutant the suite let live before (issue 26).

// TestStaleWindowEndsAtTTLPlusStaleIfError: past TTL + stale_if_error a value is not served
// (a window one TTL longer would serve it).
func TestStaleWindowEndsAtTTLPlusStaleIfError(t *testing.T) {
	b := &countingStore{vals: map[string]string{"secret/a#k": "v"}}
	c := newTestCache(t, b, keystore.CacheOptions{TTL: 200 * time.Millisecond, StaleIfError: 200 * time.Millisecond,
		RetryInterval: 10 * time.Millisecond})
	ref := mustRef(t, "secret/a#k")
	fetched := time.Now()
	if _, err := c.Get(context.Background(), ref); err != nil {
		t.Fatal(err)
	}
	b.set(true)
	time.Sleep(time.Until(fetched.Add(500 * time.Millisecond)))
	if _, err := c.Get(context.Background(), ref); err == nil {
		t.Fatal("a value 300ms past its TTL was served with stale_if_error 200ms")
	}
}

// TestPinnedVersionServesThroughAnyOutage: a pinned version never changes, so it serves for as
// long as the backend is down, past any stale window, even when the cache itself has evicted it
// (MaxBytes 1: ristretto keeps nothing, the stale store is all there is).
func TestPinnedVersionServesThroughAnyOutage(t *testing.T) {
	b := &countingStore{vals: map[string]string{"secret/a#k@3": "v3"}}
	c := newTestCache(t, b, keystore.CacheOptions{TTL: 20 * time.Millisecond, StaleIfError: 20 * time.Millisecond,
		RetryInterval: 5 * time.Millisecond, MaxBytes: 1})
	ref := mustRef(t, "secret/a#k@3")
	if _, err := c.Get(context.Background(), ref); err != nil {
		t.Fatal(err)
	}
	b.set(true)
	time.Sleep(150 * time.Millisecond) // far past TTL + stale_if_error
	s, err := c.Get(context.Background(), ref)
	if err != nil || string(s.Value.Reveal()) != "v3" {
		t.Fatalf("a pinned version was not served during an outage: %v", err)
	}
}

// TestStaleServingStillTriesTheBackend: while a stale value serves, the backend is tried again
// every RetryInterval, so a recovered backend's new value is served long before the window ends.
func TestStaleServingStillTriesTheBackend(t *testing.T) {
	b := &countingStore{vals: map[string]string{"secret/a#k": "v1"}}
	c := newTestCache(t, b, keystore.CacheOptions{TTL: 20 * time.Millisecond, StaleIfError: 10 * time.Second,
		RetryInterval: 20 * time.Millisecond})
	ref := mustRef(t, "secret/a#k")
	ctx := context.Background()
	if _, err := c.Get(ctx, ref); err != nil {
		t.Fatal(err)
	}
	b.set(true)
	time.Sleep(40 * time.Millisecond)
	if s, err := c.Get(ctx, ref); err != nil || string(s.Value.Reveal()) != "v1" {
		t.Fatalf("the stale value was not served: %v", err)
	}
	b.mu.Lock()
	b.vals["secret/a#k"], b.down = "v2", false
	b.mu.Unlock()
	deadline := time.Now().Add(2 * time.Second) // far inside the 10s window
	for {
		s, err := c.Get(ctx, ref)
		if err == nil && string(s.Value.Reveal()) == "v2" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the backend came back but the stale value kept serving: it is not retried while a stale value is usable")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
