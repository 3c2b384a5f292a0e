package keystore_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keygate/keygate/internal/failure"
	"github.com/keygate/keygate/internal/secret"
	"github.com/keygate/keygate/keystore"
)

// countingStore is an in-memory backend for the cache's own logic (TTL, negative caching,
// single flight); the Vault-backed behaviour is tested against a real Vault in vault_*_test.go.
type countingStore struct {
	mu    sync.Mutex
	vals  map[string]string
	down  bool
	delay time.Duration
	calls atomic.Int64
}

func (s *countingStore) Get(_ context.Context, ref keystore.Ref) (keystore.Secret, error) {
	s.calls.Add(1)
	time.Sleep(s.delay)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down {
		return keystore.Secret{}, &failure.Error{Kind: failure.Unavailable, Stage: "keystore", Msg: ref.String(), Err: keystore.ErrUnavailable}
	}
	v, ok := s.vals[ref.String()]
	if !ok {
		return keystore.Secret{}, &failure.Error{Kind: failure.Unavailable, Stage: "keystore", Msg: ref.String(), Err: keystore.ErrNotFound}
	}
	return keystore.Secret{Value: secret.FromString(v), Version: 1}, nil
}

func (s *countingStore) set(down bool) { s.mu.Lock(); s.down = down; s.mu.Unlock() }

func newTestCache(t *testing.T, b keystore.Getter, o keystore.CacheOptions) *keystore.Cache {
	t.Helper()
	c, err := keystore.NewCache(b, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func TestCacheSteadyStateMakesNoBackendCalls(t *testing.T) {
	b := &countingStore{vals: map[string]string{"secret/a#k": "v"}}
	c := newTestCache(t, b, keystore.CacheOptions{})
	ref := mustRef(t, "secret/a#k")
	for range 1000 {
		if _, err := c.Get(context.Background(), ref); err != nil {
			t.Fatal(err)
		}
	}
	if n := b.calls.Load(); n != 1 {
		t.Fatalf("1000 gets made %d backend calls, want 1", n)
	}
	t.Logf("stats: %+v", c.Stats())
}

func TestCacheSingleFlight(t *testing.T) {
	b := &countingStore{vals: map[string]string{"secret/a#k": "v"}, delay: 100 * time.Millisecond}
	c := newTestCache(t, b, keystore.CacheOptions{})
	ref := mustRef(t, "secret/a#k")
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			if _, err := c.Get(context.Background(), ref); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n := b.calls.Load(); n != 1 {
		t.Fatalf("50 concurrent misses made %d backend calls, want 1", n)
	}
}

func TestCacheNegativeAndTTL(t *testing.T) {
	b := &countingStore{vals: map[string]string{"secret/a#k": "v"}}
	c := newTestCache(t, b, keystore.CacheOptions{TTL: 100 * time.Millisecond, NegativeTTL: 100 * time.Millisecond})
	ctx := context.Background()
	missing := mustRef(t, "secret/a#nope")
	for range 3 {
		if _, err := c.Get(ctx, missing); !errors.Is(err, keystore.ErrNotFound) {
			t.Fatalf("want ErrNotFound, got %v", err)
		}
	}
	if n := b.calls.Load(); n != 1 {
		t.Fatalf("not-found was not remembered: %d calls", n)
	}
	time.Sleep(150 * time.Millisecond)
	_, _ = c.Get(ctx, missing)
	_, _ = c.Get(ctx, mustRef(t, "secret/a#k"))
	time.Sleep(150 * time.Millisecond)
	_, _ = c.Get(ctx, mustRef(t, "secret/a#k"))
	if n := b.calls.Load(); n != 4 {
		t.Fatalf("entries did not expire at their TTL: %d calls, want 4", n)
	}
}

func TestCachePinnedVersionHasNoTTL(t *testing.T) {
	b := &countingStore{vals: map[string]string{"secret/a#k@3": "v3"}}
	c := newTestCache(t, b, keystore.CacheOptions{TTL: 50 * time.Millisecond})
	ref := mustRef(t, "secret/a#k@3")
	_, _ = c.Get(context.Background(), ref)
	time.Sleep(100 * time.Millisecond)
	if _, err := c.Get(context.Background(), ref); err != nil {
		t.Fatal(err)
	}
	if n := b.calls.Load(); n != 1 {
		t.Fatalf("pinned version expired: %d calls", n)
	}
}

func TestCacheStaleIfError(t *testing.T) {
	b := &countingStore{vals: map[string]string{"secret/a#k": "v"}}
	c := newTestCache(t, b, keystore.CacheOptions{TTL: 50 * time.Millisecond, StaleIfError: 300 * time.Millisecond,
		RetryInterval: 20 * time.Millisecond})
	ctx := context.Background()
	ref := mustRef(t, "secret/a#k")
	if _, err := c.Get(ctx, ref); err != nil {
		t.Fatal(err)
	}
	b.set(true)
	deadline := time.Now().Add(2 * time.Second)
	var served, failed int
	var lastErr error
	for time.Now().Before(deadline) && failed == 0 {
		s, err := c.Get(ctx, ref)
		switch {
		case err == nil && string(s.Value.Reveal()) == "v":
			served++
		case err != nil:
			failed++
			lastErr = err
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Logf("backend down: %d served (fresh or stale), then fail closed; stats %+v", served, c.Stats())
	if served == 0 || failed == 0 || c.Stats().StaleServed == 0 {
		t.Fatalf("want stale serving then failure, got served=%d failed=%d", served, failed)
	}
	if !errors.Is(lastErr, keystore.ErrUnavailable) || failure.Status(lastErr) != 503 ||
		!strings.Contains(lastErr.Error(), "beyond stale_if_error 300ms") {
		t.Fatalf("fail-closed error: %v", lastErr)
	}
	b.set(false)
	time.Sleep(30 * time.Millisecond)
	if _, err := c.Get(ctx, ref); err != nil {
		t.Fatalf("no recovery: %v", err)
	}
}

func TestCachePutInvalidates(t *testing.T) {
	w := &writableStore{countingStore: countingStore{vals: map[string]string{"secret/a#k": "v1"}}}
	c := newTestCache(t, w, keystore.CacheOptions{})
	ctx := context.Background()
	ref := mustRef(t, "secret/a#k")
	_, _ = c.Get(ctx, ref)
	if _, err := c.Put(ctx, "secret", "a", map[string]secret.Value{"k": secret.FromString("v2")}, -1); err != nil {
		t.Fatal(err)
	}
	s, err := c.Get(ctx, ref)
	if err != nil || string(s.Value.Reveal()) != "v2" {
		t.Fatalf("Get after Put returned the old value (err %v)", err)
	}
}

type writableStore struct{ countingStore }

func (w *writableStore) Put(_ context.Context, mount, path string, f map[string]secret.Value, _ int) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for k, v := range f {
		w.vals[mount+"/"+path+"#"+k] = string(v.Reveal())
	}
	return 2, nil
}
