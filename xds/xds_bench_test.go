package xds_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/keygate/keygate/internal/app"
	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/internal/gateway"
	"github.com/keygate/keygate/internal/procstat"
	"github.com/keygate/keygate/xds"
)

// BenchmarkSnapshot10kProviders is the target end to end: 10,000 article providers
// (aes_cbc + simple, three secrets each) compiled into a gateway snapshot AND built into an
// xDS snapshot, under 1 s with RSS under 200 MiB. It reports ns/op, allocs/op and the peak
// RSS of one iteration (VmHWM, reset before it); it asserts nothing.
func BenchmarkSnapshot10kProviders(b *testing.B) {
	path := filepath.Join(b.TempDir(), "keys.yaml")
	keys := "secret/bench/demo:\n  app_secret: bench-secret\n  aes_key: bench-aes-key-16b\n  aes_iv: bench-aes-iv-16by\n"
	if err := os.WriteFile(path, []byte(keys), 0o600); err != nil {
		b.Fatal(err)
	}
	a, err := app.New(context.Background(), config.Keystore{Type: "file", File: &config.FileStore{Path: path}}, app.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer a.Close()
	f := &config.File{Providers: make([]config.Provider, 10_000)}
	for i := range f.Providers {
		f.Providers[i] = config.Provider{
			Name: fmt.Sprintf("p%05d", i), Hosts: []string{fmt.Sprintf("p%05d.egress.local", i)},
			Upstream: config.Upstream{URL: fmt.Sprintf("https://api%05d.example.com/v1", i)},
			Secrets: map[string]string{
				"app_secret": "secret/bench/demo#app_secret", "aes_key": "secret/bench/demo#aes_key", "aes_iv": "secret/bench/demo#aes_iv",
			},
			Signing: []config.Step{
				{Scheme: "aes_cbc", Params: []byte(`{"key":"aes_key","iv":"aes_iv","field":"data"}`)},
				{Scheme: "simple", Params: []byte(`{"app_key":"demo-app","app_secret":"app_secret"}`)},
			},
		}
	}
	b.ReportAllocs()
	var peak float64
	for b.Loop() {
		procstat.ResetPeakRSS()
		if _, err := a.Compile(f, gateway.Meta{}); err != nil {
			b.Fatal(err)
		}
		if _, err := xds.BuildSnapshot("1", f, xds.Options{}); err != nil {
			b.Fatal(err)
		}
		peak = max(peak, procstat.PeakRSSMiB())
	}
	b.ReportMetric(peak, "peak-rss-MiB")
}
