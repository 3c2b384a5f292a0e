package metrics_test

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/keygate/keygate/extproc"
	"github.com/keygate/keygate/internal/metrics"
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
