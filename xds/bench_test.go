package xds

import (
	"fmt"
	"testing"

	"github.com/keygate/keygate/internal/config"
)

func manyProviders(n int) *config.File {
	f := &config.File{Providers: make([]config.Provider, n)}
	for i := range f.Providers {
		f.Providers[i] = config.Provider{
			Name:  fmt.Sprintf("p%05d", i),
			Hosts: []string{fmt.Sprintf("p%05d.egress.local", i)},
			Upstream: config.Upstream{
				URL:     fmt.Sprintf("https://api%05d.example.com/v1", i),
				HTTP2:   i%2 == 0,
				Retries: i % 3,
			},
		}
	}
	return f
}

// BenchmarkBuildSnapshot10k: the whole generate + validate + Consistent path for 10,000
// providers (target well under 1 s per snapshot). Run with -benchmem; the benchmark reports,
// it asserts nothing.
func BenchmarkBuildSnapshot10k(b *testing.B) {
	f := manyProviders(10000)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := BuildSnapshot("1", f, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}
