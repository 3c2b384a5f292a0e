package metrics_test

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/keygate/keygate/extproc"
	"github.com/keygate/keygate/internal/metrics"
	"github.com/keygate/keygate/internal/token"
	"github.com/keygate/keygate/keystore"
	"github.com/keygate/keygate/signer"
)

// BenchmarkObserve is the per-phase cost of metrics on the request path (steady state: the
// label combination is known). It should report 0 allocs/op.
func BenchmarkObserve(b *testing.B) {
	m := metrics.New(prometheus.NewRegistry())
	o := extproc.Outcome{Phase: "request", Tenant: "acme", Provider: "demo", Duration: 80 * time.Microsecond}
	o.Stages[signer.StageIdentify], o.Stages[signer.StageKeyFetch], o.Stages[signer.StageCrypto] = time.Microsecond, 2*time.Microsecond, 50*time.Microsecond
	m.Observe(o)
	b.ReportAllocs()
	for b.Loop() {
		m.Observe(o)
	}
}

// TestHotCountersCountAndAllocateNothing: the token lookup and keystore cache counters, run
// once per request or key read, count every call per label set and allocate nothing once
// their labels were seen.
func TestHotCountersCountAndAllocateNothing(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := metrics.New(reg)
	tok, cache := m.TokenObserver(), m.CacheObserver()
	acme, other := token.Key{Tenant: "acme", Provider: "pay"}, token.Key{Tenant: "beta", Provider: "pay"}
	ref := keystore.Ref{Kind: keystore.KV, Mount: "secret", Path: "p", Field: "f"}
	kv2 := keystore.Ref{Kind: keystore.KV, Mount: "kv2", Path: "p", Field: "f"}
	for range 3 {
		tok.Lookup(acme, true)
		cache.CacheHit(ref)
	}
	tok.Lookup(acme, false)
	tok.Lookup(other, true)
	cache.CacheMiss(ref)
	cache.StaleServed(kv2, time.Second)
	if n := testing.AllocsPerRun(100, func() { tok.Lookup(acme, true); cache.CacheHit(ref) }); n != 0 {
		t.Errorf("%v allocations per lookup and cache hit", n)
	}
	want := map[string]float64{
		"keygate_token_lookups_total{provider=pay,result=hit,tenant=acme}":  3 + 101, // AllocsPerRun runs once more than asked
		"keygate_token_lookups_total{provider=pay,result=miss,tenant=acme}": 1,
		"keygate_token_lookups_total{provider=pay,result=hit,tenant=beta}":  1,
		"keygate_keystore_cache_total{mount=secret,result=hit}":             3 + 101,
		"keygate_keystore_cache_total{mount=secret,result=miss}":            1,
		"keygate_keystore_cache_total{mount=kv2,result=stale}":              1,
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		for _, mt := range mf.GetMetric() {
			var labels []string
			for _, l := range mt.GetLabel() {
				labels = append(labels, l.GetName()+"="+l.GetValue())
			}
			got[mf.GetName()+"{"+strings.Join(labels, ",")+"}"] = mt.GetCounter().GetValue()
		}
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
}

// BenchmarkHotCounters is a token lookup and a keystore cache hit: what a token provider's
// request adds to metrics per key read and token.
func BenchmarkHotCounters(b *testing.B) {
	m := metrics.New(prometheus.NewRegistry())
	tok, cache := m.TokenObserver(), m.CacheObserver()
	key, ref := token.Key{Tenant: "acme", Provider: "pay"}, keystore.Ref{Kind: keystore.KV, Mount: "secret", Path: "p", Field: "f"}
	b.ReportAllocs()
	for b.Loop() {
		tok.Lookup(key, true)
		cache.CacheHit(ref)
	}
}
