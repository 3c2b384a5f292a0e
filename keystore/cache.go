package keystore

import (
	"context"
	"errors"
	"io"
	"sync/atomic"
	"time"

	"github.com/dgraph-io/ristretto/v2"
	"golang.org/x/sync/singleflight"

	"github.com/keygate/keygate/internal/secret"
)

// CacheOptions bounds the cache. Zero fields take the defaults of withDefaults.
type CacheOptions struct {
	TTL         time.Duration // how long a latest-version value is fresh; default 5m
	NegativeTTL time.Duration // how long "not found" is remembered; default 10s
	// StaleIfError is how long past its TTL a value keeps serving while the backend is
	// unavailable (unreachable, sealed, timing out); default 10m, negative disables.
	StaleIfError time.Duration
	MaxBytes     int64 // total cost bound (value and key bytes); default 64 MiB
	// RetryInterval: while a stale value is serving, at most one backend call per reference per
	// interval, so an outage does not add a timeout to every request; default 1s.
	RetryInterval time.Duration
	Observer      CacheObserver // metrics hooks; default no-op
}

func (o CacheOptions) withDefaults() CacheOptions {
	if o.TTL <= 0 {
		o.TTL = 5 * time.Minute
	}
	if o.NegativeTTL <= 0 {
		o.NegativeTTL = 10 * time.Second
	}
	if o.StaleIfError == 0 {
		o.StaleIfError = 10 * time.Minute
	} else if o.StaleIfError < 0 {
		o.StaleIfError = 0
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = 64 << 20
	}
	if o.RetryInterval <= 0 {
		o.RetryInterval = time.Second
	}
	if o.Observer == nil {
		o.Observer = NopCacheObserver{}
	}
	return o
}

// CacheObserver receives cache events; metrics are wired to it. Implementations must be cheap
// and safe for concurrent use.
type CacheObserver interface {
	CacheHit(ref Ref)
	CacheMiss(ref Ref)
	StaleServed(ref Ref, staleFor time.Duration)
	BackendError(ref Ref, err error)
}

// NopCacheObserver ignores every event.
type NopCacheObserver struct{}

func (NopCacheObserver) CacheHit(Ref)                   {}
func (NopCacheObserver) CacheMiss(Ref)                  {}
func (NopCacheObserver) StaleServed(Ref, time.Duration) {}
func (NopCacheObserver) BackendError(Ref, error)        {}

// CacheStats counts cache events since the cache was built.
type CacheStats struct {
	Hits          int64 // answered from the cache (values and remembered "not found")
	Misses        int64 // not in the cache (or expired)
	BackendCalls  int64 // Get calls made to the wrapped store
	BackendErrors int64 // backend calls that failed
	StaleServed   int64 // answers from a stale value because the backend was unavailable
	FailedClosed  int64 // answers that failed because the backend was unavailable and no value could serve
}

// Cache wraps a Getter: bounded by cost, a TTL per entry (none for pinned versions, which are
// immutable), negative caching of ErrNotFound, stale-if-error while the backend is unavailable,
// and one backend call per reference however many requests miss at once. In steady state a Get
// makes no backend call. TransitSigner, Writer and Checker calls pass through to the wrapped store.
type Cache struct {
	inner Getter
	opts  CacheOptions
	fresh *ristretto.Cache[string, cacheEntry]
	group singleflight.Group
	stale staleStore

	hits, misses, calls, backendErrs, staleServed, failed atomic.Int64
}

type cacheEntry struct {
	s   Secret
	err error // remembered ErrNotFound failure
}

var (
	_ Store         = (*Cache)(nil)
	_ TransitSigner = (*Cache)(nil)
	_ Writer        = (*Cache)(nil)
	_ Checker       = (*Cache)(nil)
	_ Peeker        = (*Cache)(nil)
)

// NewCache wraps inner. Close closes inner too if it is an io.Closer.
func NewCache(inner Getter, opts CacheOptions) (*Cache, error) {
	opts = opts.withDefaults()
	counters := min(max(opts.MaxBytes/64, 1000), 10_000_000)
	fresh, err := ristretto.NewCache(&ristretto.Config[string, cacheEntry]{
		NumCounters: counters, MaxCost: opts.MaxBytes, BufferItems: 64, IgnoreInternalCost: true,
	})
	if err != nil {
		return nil, err
	}
	return &Cache{inner: inner, opts: opts, fresh: fresh, stale: staleStore{m: map[string]staleEntry{}}}, nil
}

// Get answers from the cache, or asks the backend once for all concurrent callers.
func (c *Cache) Get(ctx context.Context, ref Ref) (Secret, error) {
	key := ref.String()
	if e, ok := c.fresh.Get(key); ok {
		c.hits.Add(1)
		c.opts.Observer.CacheHit(ref)
		return e.s, e.err
	}
	c.misses.Add(1)
	c.opts.Observer.CacheMiss(ref)
	// During an outage, serve the stale value without waiting on the backend between retries.
	if s, staleFor, ok := c.stale.serveWithoutRetry(key, time.Now(), c.opts); ok {
		c.staleServed.Add(1)
		c.opts.Observer.StaleServed(ref, staleFor)
		return s, nil
	}
	ch := c.group.DoChan(key, func() (any, error) {
		// Detached from this caller's cancellation: other callers share the result; the
		// backend's own timeout bounds the call.
		return c.fetch(context.WithoutCancel(ctx), ref, key)
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return Secret{}, r.Err
		}
		return r.Val.(Secret), nil
	case <-ctx.Done():
		return Secret{}, readFailure(ref, ErrUnavailable, "gave up waiting for the keystore: "+ctx.Err().Error())
	}
}

// Peek is Get's first branch alone: a fresh cached value, counted as a hit; anything else
// (a miss, a remembered not-found, a stale value) is false and left to Get.
func (c *Cache) Peek(ref Ref) (Secret, bool) {
	e, ok := c.fresh.Get(ref.String())
	if !ok || e.err != nil {
		return Secret{}, false
	}
	c.hits.Add(1)
	c.opts.Observer.CacheHit(ref)
	return e.s, true
}

// Refresh asks the backend now, whatever the cache holds, and caches the answer. Applying a
// config pins "the latest version" of each secret: that must be Vault's latest, not the one
// cached before an operator rotated the key in Vault.
func (c *Cache) Refresh(ctx context.Context, ref Ref) (Secret, error) {
	key := ref.String()
	v, err, _ := c.group.Do("refresh:"+key, func() (any, error) { return c.fetch(ctx, ref, key) })
	if err != nil {
		return Secret{}, err
	}
	return v.(Secret), nil
}

// Refresher is the optional capability of reading past a cache (see Cache.Refresh).
type Refresher interface {
	Refresh(ctx context.Context, ref Ref) (Secret, error)
}

func (c *Cache) fetch(ctx context.Context, ref Ref, key string) (Secret, error) {
	c.calls.Add(1)
	s, err := c.inner.Get(ctx, ref)
	now := time.Now()
	cost := int64(len(key) + s.Value.Len() + 64)
	switch {
	case err == nil:
		ttl := c.opts.TTL
		if ref.Version > 0 {
			ttl = 0 // a pinned version never changes
		}
		c.fresh.SetWithTTL(key, cacheEntry{s: s}, cost, ttl)
		c.fresh.Wait() // visible to the next Get: steady state means no backend call
		c.stale.put(ref, key, s, now, c.opts)
		return s, nil
	case errors.Is(err, ErrNotFound):
		c.fresh.SetWithTTL(key, cacheEntry{err: err}, cost, c.opts.NegativeTTL)
		c.fresh.Wait()
		c.stale.drop(ref, key) // "not found" is an answer: a deleted secret stops serving
		return Secret{}, err
	}
	c.backendErrs.Add(1)
	c.opts.Observer.BackendError(ref, err)
	if !errors.Is(err, ErrUnavailable) { // e.g. denied: a policy answer, never masked by stale values
		return Secret{}, err
	}
	if s, staleFor, ok := c.stale.serveAfterError(key, now, c.opts); ok {
		c.staleServed.Add(1)
		c.opts.Observer.StaleServed(ref, staleFor)
		return s, nil
	}
	c.failed.Add(1)
	return Secret{}, c.stale.failClosed(ref, key, now, c.opts, err)
}

// Stats returns the counters.
func (c *Cache) Stats() CacheStats {
	return CacheStats{Hits: c.hits.Load(), Misses: c.misses.Load(), BackendCalls: c.calls.Load(),
		BackendErrors: c.backendErrs.Load(), StaleServed: c.staleServed.Load(), FailedClosed: c.failed.Load()}
}

// HMAC passes through to the wrapped store: Transit results are never cached.
func (c *Cache) HMAC(ctx context.Context, ref Ref, alg string, data []byte) ([]byte, error) {
	t, ok := c.inner.(TransitSigner)
	if !ok {
		return nil, readFailure(ref, ErrNotFound, "this keystore has no transit keys")
	}
	return t.HMAC(ctx, ref, alg, data)
}

// Sign passes through to the wrapped store.
func (c *Cache) Sign(ctx context.Context, ref Ref, alg string, data []byte) ([]byte, error) {
	t, ok := c.inner.(TransitSigner)
	if !ok {
		return nil, readFailure(ref, ErrNotFound, "this keystore has no transit keys")
	}
	return t.Sign(ctx, ref, alg, data)
}

// Put writes through and forgets every cached field of mount/path, so the next Get reads the
// new version.
func (c *Cache) Put(ctx context.Context, mount, path string, fields map[string]secret.Value, cas int) (int, error) {
	w, ok := c.inner.(Writer)
	if !ok {
		return 0, writeFailure(mount, path, ErrDenied, "this keystore is read-only")
	}
	v, err := w.Put(ctx, mount, path, fields, cas)
	if err == nil {
		for _, key := range c.stale.forget(mount + "/" + path) {
			c.fresh.Del(key)
		}
		c.fresh.Wait()
	}
	return v, err
}

// Ready passes through; a store without a readiness notion is always ready.
func (c *Cache) Ready(ctx context.Context) error {
	if ch, ok := c.inner.(Checker); ok {
		return ch.Ready(ctx)
	}
	return nil
}

// Close releases the cache and closes the wrapped store.
func (c *Cache) Close() error {
	c.fresh.Close()
	if cl, ok := c.inner.(io.Closer); ok {
		return cl.Close()
	}
	return nil
}
