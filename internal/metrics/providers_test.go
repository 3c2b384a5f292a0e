package metrics_test

import (
	"math"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/keygate/keygate/extproc"
	"github.com/keygate/keygate/internal/metrics"
)

// TestPerProvider: the registry's request series summed per provider, failures counted per
// phase, mean and p95 latency from the histogram; with names hidden there is nothing per
// provider (and no total passed off as a provider).
func TestPerProvider(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := metrics.New(reg)
	for i := range 19 {
		m.Observe(extproc.Outcome{Phase: "request", Tenant: "acme", Provider: "pay", Duration: time.Duration(i+1) * 100 * time.Microsecond})
	}
	m.Observe(extproc.Outcome{Phase: "request", Tenant: "acme", Provider: "pay", Status: 401, Stage: "tenant", Duration: 20 * time.Millisecond})
	m.Observe(extproc.Outcome{Phase: "response", Tenant: "acme", Provider: "pay", Duration: time.Millisecond})
	m.Observe(extproc.Outcome{Phase: "response", Tenant: "acme", Provider: "pay", Status: 502, Stage: "response", Duration: time.Millisecond})
	m.Observe(extproc.Outcome{Phase: "request", Tenant: "globex", Provider: "shop", Duration: time.Millisecond})
	got, named, err := m.PerProvider()
	if err != nil || !named || len(got) != 2 {
		t.Fatalf("%+v %v %v", got, named, err)
	}
	pay, shop := got[0], got[1]
	if pay.Tenant != "acme" || pay.Provider != "pay" || pay.Requests != 20 || pay.Errors != 1 || pay.Responses != 2 || pay.RespErrors != 1 {
		t.Fatalf("pay %+v", pay)
	}
	if want := (19*20/2*100e-6 + 20e-3) / 20; math.Abs(pay.Mean-want) > 1e-9 {
		t.Errorf("mean %v, want %v", pay.Mean, want)
	}
	// 19 of 20 at or under 2ms (bucket 1ms..2.5ms holds 10 of them); the 95th is the 19th.
	if pay.P95 < 1e-3 || pay.P95 > 2.5e-3 {
		t.Errorf("p95 %v, want within the 1ms..2.5ms bucket", pay.P95)
	}
	if shop.Tenant != "globex" || shop.Requests != 1 || shop.Errors != 0 {
		t.Fatalf("shop %+v", shop)
	}

	hidden := metrics.NewWithOptions(prometheus.NewRegistry(), metrics.Options{HideNames: true})
	hidden.Observe(extproc.Outcome{Phase: "request", Tenant: "acme", Provider: "pay", Duration: time.Millisecond})
	if got, named, err := hidden.PerProvider(); err != nil || named || len(got) != 0 {
		t.Fatalf("hidden names: %+v %v %v", got, named, err)
	}
}
