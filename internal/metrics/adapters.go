package metrics

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/keygate/keygate/internal/token"
	"github.com/keygate/keygate/keystore"
)

// TokenObserver adapts m to the token manager (token.Options.Observer).
func (m *Metrics) TokenObserver() token.Observer { return tokenObserver{m} }

type tokenObserver struct{ m *Metrics }

var _ token.Observer = tokenObserver{}

// Lookup runs once per request of a token provider: its counter is resolved once per label set.
func (o tokenObserver) Lookup(key token.Key, hit bool) {
	tenant, provider := o.m.names(key.Tenant, key.Provider)
	o.m.lookupCounters.get(lookupKey{tenant, provider, hit}, func() prometheus.Counter {
		result := "miss"
		if hit {
			result = "hit"
		}
		return o.m.tokenLookups.WithLabelValues(tenant, provider, result)
	}).Inc()
}

type lookupKey struct {
	tenant, provider string
	hit              bool
}

func (o tokenObserver) Fetched(key token.Key, err error) {
	outcome := "ok"
	if err != nil {
		outcome = "failed"
	}
	tenant, provider := o.m.names(key.Tenant, key.Provider)
	o.m.tokenFetches.WithLabelValues(tenant, provider, outcome).Inc()
}

// CacheObserver adapts m to the keystore cache (keystore.CacheOptions.Observer). Only the
// reference's mount becomes a label: paths and fields name secrets, and a mount is few.
func (m *Metrics) CacheObserver() keystore.CacheObserver { return cacheObserver{m} }

type cacheObserver struct{ m *Metrics }

var _ keystore.CacheObserver = cacheObserver{}

// CacheHit runs for every key a request reads: its counter is resolved once per mount.
func (o cacheObserver) CacheHit(ref keystore.Ref)  { o.count(ref.Mount, "hit") }
func (o cacheObserver) CacheMiss(ref keystore.Ref) { o.count(ref.Mount, "miss") }
func (o cacheObserver) StaleServed(ref keystore.Ref, _ time.Duration) {
	o.count(ref.Mount, "stale")
}

func (o cacheObserver) count(mount, result string) {
	o.m.cacheCounters.get(cacheKey{mount, result}, func() prometheus.Counter {
		return o.m.cache.WithLabelValues(mount, result)
	}).Inc()
}

type cacheKey struct{ mount, result string }

// counters are the children of a CounterVec resolved once per label set: WithLabelValues
// hashes its labels, takes the vector's lock and allocates on every call (a request path
// calls these once per key read or token lookup).
type counters[K comparable] struct {
	mu sync.RWMutex
	m  map[K]prometheus.Counter
}

// get returns k's counter, resolving it the first time.
func (c *counters[K]) get(k K, resolve func() prometheus.Counter) prometheus.Counter {
	c.mu.RLock()
	ctr, ok := c.m[k]
	c.mu.RUnlock()
	if ok {
		return ctr
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if ctr, ok := c.m[k]; ok {
		return ctr
	}
	if c.m == nil {
		c.m = map[K]prometheus.Counter{}
	}
	ctr = resolve()
	c.m[k] = ctr
	return ctr
}
func (o cacheObserver) BackendError(ref keystore.Ref, _ error) {
	o.m.vaultErrors.WithLabelValues(ref.Mount).Inc()
}
