package versions

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keygate/keygate/internal/config"
)

// TestOneCompileAtATime: applies and restores (the store follower calls Restore on every tick,
// the admin API applies) never compile at once, and afterwards the running version is the
// store's newest. Before Restore took the lock, a Restore racing an Apply left v1 running while
// the store held v2.
func TestOneCompileAtATime(t *testing.T) {
	store, err := OpenDisk(t.TempDir(), 0)
	if err != nil {
		t.Fatal(err)
	}
	var inside, overlaps atomic.Int32
	var running atomic.Value
	m := NewManager(Options{Store: store, Compile: func(_ context.Context, f *config.File, _ map[string]int) error {
		if inside.Add(1) > 1 {
			overlaps.Add(1)
		}
		time.Sleep(time.Millisecond) // widen the window a racing compile would use
		running.Store(f.Providers[0].Upstream.URL)
		inside.Add(-1)
		return nil
	}})
	ctx := context.Background()
	if _, err := m.Apply(ctx, testConfig("v1"), "t", ""); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Add(1)
	go func() { // the store follower
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
				_, _ = m.Restore(ctx)
			}
		}
	}()
	for i := range 30 {
		if _, err := m.Apply(ctx, testConfig("apply "+string(rune('a'+i))), "t", ""); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
	if n := overlaps.Load(); n > 0 {
		t.Fatalf("%d compiles overlapped another", n)
	}
	latest, _ := store.Latest(ctx)
	cur, _ := m.Current()
	if cur.Number != latest.Number {
		t.Fatalf("running version %d, the store's newest %d", cur.Number, latest.Number)
	}
}

// TestStaleBaseIsRefused: a change built from an older version is refused with ErrStale (a
// 409 naming both versions), and does not undo the newer one; the same content is no conflict.
func TestStaleBaseIsRefused(t *testing.T) {
	store, err := OpenDisk(t.TempDir(), 0)
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	m := NewManager(Options{Store: store, Compile: rec.compile})
	ctx := context.Background()
	v1, _ := m.Apply(ctx, testConfig("one"), "t", "")
	v2, err := m.Commit(ctx, Change{Config: testConfig("two"), Base: v1.Number, Author: "alpha"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = m.Commit(ctx, Change{Config: testConfig("three"), Base: v1.Number, Author: "beta"})
	if !errors.Is(err, ErrStale) || !errors.Is(err, ErrConflict) {
		t.Fatalf("a change based on v%d after v%d: %v, want ErrStale", v1.Number, v2.Number, err)
	}
	if cur, _ := m.Current(); cur.Number != v2.Number {
		t.Fatalf("the stale change replaced v%d: running v%d", v2.Number, cur.Number)
	}
	if _, err := m.Commit(ctx, Change{Config: testConfig("two"), Base: v1.Number}); err != nil {
		t.Fatalf("re-sending the newest content on an old base is no conflict: %v", err)
	}
	if _, err := m.RollbackFrom(ctx, v1.Number, v1.Number, "t", ""); !errors.Is(err, ErrStale) {
		t.Fatalf("a rollback on a stale base: %v, want ErrStale", err)
	}
}

// TestRetentionKeepsEveryTenantsRollbackTargets: a tenant applying many versions evicts only
// what the overall window and its own share allow; another tenant's newest versions stay.
func TestRetentionKeepsEveryTenantsRollbackTargets(t *testing.T) {
	store, err := OpenDisk(t.TempDir(), 5)
	if err != nil {
		t.Fatal(err)
	}
	m := NewManager(Options{Store: store, Compile: (&recorder{}).compile})
	ctx := context.Background()
	beta, err := m.Commit(ctx, Change{Config: testConfig("beta's change"), Author: "beta-admin", Tenant: "beta"})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 60 {
		if _, err := m.Commit(ctx, Change{Config: testConfig(fmt.Sprint("alpha ", i)), Author: "alpha-admin", Tenant: "alpha"}); err != nil {
			t.Fatal(err)
		}
	}
	vs, err := m.History(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Get(ctx, beta.Number); err != nil {
		t.Fatalf("beta's version %d was evicted by alpha's 60 applies: %v", beta.Number, err)
	}
	if len(vs) > 5+DefaultKeepPerTenant+1 {
		t.Fatalf("%d versions kept: retention is not bounded", len(vs))
	}
}
