package gateway_test

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"

	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/internal/gateway"
	"github.com/keygate/keygate/internal/procstat"
	"github.com/keygate/keygate/internal/testkit/benchkit"
	"github.com/keygate/keygate/signer"
)

// BenchmarkCompile10kProviders compiles 10,000 article providers (two steps, three secrets
// each) into a Snapshot: the target is under 1 s with RSS under 200 MiB (with the xDS
// snapshot, xds.BenchmarkSnapshot10kProviders). It reports; it asserts nothing.
func BenchmarkCompile10kProviders(b *testing.B) {
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
		}))
	}
	b.ReportMetric(peak, "peak-rss-MiB")
}

// BenchmarkPipelineSimpleAES is one request through the article's provider with a 4 KiB body:
// Begin, SignRequest (aes_cbc + simple) and ProcessResponse (decrypt), keys cached.
func BenchmarkPipelineSimpleAES(b *testing.B) {
	a := benchkit.App(b)
	snap, err := a.Compile(&config.File{Providers: []config.Provider{benchkit.ArticleProvider(0)}}, gateway.Meta{})
	if err != nil {
		b.Fatal(err)
	}
	benchPipeline(b, snap)
}

// benchPipeline measures one request through snap's provider p00000 per iteration: Begin,
// SignRequest over a 4 KiB JSON body, the signed body read, ProcessResponse of a 3 KiB
// encrypted answer. cpu-ns/op is the process's CPU time per request (GC included): on a shared
// machine it moves less than ns/op, which counts the time spent waiting for a core.
func benchPipeline(b *testing.B, snap *gateway.Snapshot) {
	body := benchBody(4096)
	answer := encryptedAnswer(b, 3072)
	ctx := context.Background()
	one := func() {
		call, err := snap.Begin(gateway.Inbound{
			Method: "POST", Authority: "p00000.egress.local", Path: "/orders", BodySize: int64(len(body)),
			Header: http.Header{"Content-Type": {"application/json"}, "X-Request-Id": {"r1"}},
		}, signer.SystemClock())
		if err != nil {
			b.Fatal(err)
		}
		if err := call.SignRequest(ctx, body); err != nil {
			b.Fatal(err)
		}
		_ = call.Exchange.Request.Body()
		if err := call.ProcessResponse(ctx, &signer.Response{Status: 200, Header: http.Header{}, Body: answer}); err != nil {
			b.Fatal(err)
		}
	}
	one() // warm: a token fetched, a runtime pooled, keys cached
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	cpu0, n := procstat.CPUTime(), 0
	for b.Loop() {
		n++
		one()
	}
	b.ReportMetric(float64(procstat.CPUTime()-cpu0)/float64(n), "cpu-ns/op")
}

func benchBody(size int) []byte {
	head := `{"timestamp":1700000000,"orderId":"ord-42","amount":12345,"data":"`
	n := size - len(head) - 2
	return []byte(head + strings.Repeat("abcdefghijklmnopqrstuvwxyz0123456789", n/36+1)[:n] + `"}`)
}

func encryptedAnswer(b *testing.B, size int) []byte {
	plain := benchBody(size)
	pad := aes.BlockSize - len(plain)%aes.BlockSize
	for range pad {
		plain = append(plain, byte(pad))
	}
	block, err := aes.NewCipher([]byte("demo-aes-key-16b"))
	if err != nil {
		b.Fatal(err)
	}
	cipher.NewCBCEncrypter(block, []byte("demo-aes-iv-16by")).CryptBlocks(plain, plain)
	return []byte(`{"code":0,"msg":"ok","data":"` + base64.StdEncoding.EncodeToString(plain) + `"}`)
}
