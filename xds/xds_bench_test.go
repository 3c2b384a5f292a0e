package xds_test

import (
	"testing"

	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/internal/gateway"
	"github.com/keygate/keygate/internal/procstat"
	"github.com/keygate/keygate/internal/testkit/benchkit"
	"github.com/keygate/keygate/xds"
)

// BenchmarkSnapshot10kProviders is the target end to end: 10,000 article providers
// (aes_cbc + simple, three secrets each) compiled into a gateway snapshot AND built into an
// xDS snapshot, under 1 s with RSS under 200 MiB. It reports ns/op, allocs/op and the peak
// RSS of one iteration (VmHWM, reset before it); it asserts nothing.
func BenchmarkSnapshot10kProviders(b *testing.B) {
	a := benchkit.App(b)
	f := &config.File{Providers: make([]config.Provider, 10_000)}
	for i := range f.Providers {
		f.Providers[i] = benchkit.ArticleProvider(i)
	}
	b.ReportAllocs()
	var peak float64
	for b.Loop() {
		peak = max(peak, procstat.PeakDuring(func() {
			if _, err := a.Compile(f, gateway.Meta{}); err != nil {
				b.Fatal(err)
			}
			if _, err := xds.BuildSnapshot("1", f, xds.Options{}); err != nil {
				b.Fatal(err)
			}
		}))
	}
	b.ReportMetric(peak, "peak-rss-MiB")
}
