package token

import (
	"testing"
	"time"
)

// TestManagerDropsGoneProvidersAndOwnsRefreshes: Retain forgets the keys a config no longer
// has, and Close returns only once background refreshes have stopped.
func TestManagerDropsGoneProvidersAndOwnsRefreshes(t *testing.T) {
	m := NewManager(Options{})
	m.source("alpha", "pay", nil, Policy{})
	m.source("beta", "maps", nil, Policy{})
	m.Retain(func(k Key) bool { return k.Tenant == "beta" })
	m.mu.Lock()
	_, alpha := m.entries[Key{Tenant: "alpha", Provider: "pay"}]
	n := len(m.entries)
	m.mu.Unlock()
	if alpha || n != 1 {
		t.Fatalf("after Retain: alpha kept %v, %d entries", alpha, n)
	}
	done := make(chan struct{})
	go func() { m.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not return")
	}
	if m.ctx.Err() == nil {
		t.Fatal("the Manager's context is still live after Close")
	}
}
