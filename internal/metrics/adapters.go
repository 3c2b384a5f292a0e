package metrics

import (
	"time"

	"github.com/keygate/keygate/internal/token"
	"github.com/keygate/keygate/keystore"
)

// TokenObserver adapts m to the token manager (token.Options.Observer).
func (m *Metrics) TokenObserver() token.Observer { return tokenObserver{m} }

type tokenObserver struct{ m *Metrics }

var _ token.Observer = tokenObserver{}

func (o tokenObserver) Lookup(key token.Key, hit bool) {
	result := "miss"
	if hit {
		result = "hit"
	}
	tenant, provider := o.m.names(key.Tenant, key.Provider)
	o.m.tokenLookups.WithLabelValues(tenant, provider, result).Inc()
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

func (o cacheObserver) CacheHit(ref keystore.Ref) { o.m.cache.WithLabelValues(ref.Mount, "hit").Inc() }
func (o cacheObserver) CacheMiss(ref keystore.Ref) {
	o.m.cache.WithLabelValues(ref.Mount, "miss").Inc()
}
func (o cacheObserver) StaleServed(ref keystore.Ref, _ time.Duration) {
	o.m.cache.WithLabelValues(ref.Mount, "stale").Inc()
}
func (o cacheObserver) BackendError(ref keystore.Ref, _ error) {
	o.m.vaultErrors.WithLabelValues(ref.Mount).Inc()
}
