package gateway_test

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keygate/keygate/internal/app"
	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/internal/gateway"
	"github.com/keygate/keygate/internal/procstat"
	"github.com/keygate/keygate/signer"
)

const benchKeys = `secret/bench/demo:
  app_secret: demo-app-secret-0123456789
  aes_key: demo-aes-key-16b
  aes_iv: demo-aes-iv-16by
`

// benchApp is an App over a file keystore holding benchKeys.
func benchApp(b *testing.B) *app.App {
	b.Helper()
	path := filepath.Join(b.TempDir(), "keys.yaml")
	if err := os.WriteFile(path, []byte(benchKeys), 0o600); err != nil {
		b.Fatal(err)
	}
	a, err := app.New(context.Background(), config.Keystore{Type: "file", File: &config.FileStore{Path: path}}, app.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = a.Close() })
	return a
}

// simpleAES is the article's provider: aes_cbc on the data field, then simple signing.
func simpleAES(i int) config.Provider {
	return config.Provider{
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

// BenchmarkCompile10kProviders compiles 10,000 article providers (two steps, three secrets
// each) into a Snapshot: the target is under 1 s with RSS under 200 MiB (with the xDS
// snapshot, xds.BenchmarkSnapshot10kProviders). It reports; it asserts nothing.
func BenchmarkCompile10kProviders(b *testing.B) {
	a := benchApp(b)
	f := &config.File{Providers: make([]config.Provider, 10_000)}
	for i := range f.Providers {
		f.Providers[i] = simpleAES(i)
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
	a := benchApp(b)
	snap, err := a.Compile(&config.File{Providers: []config.Provider{simpleAES(0)}}, gateway.Meta{})
	if err != nil {
		b.Fatal(err)
	}
	body := benchBody(4096)
	answer := encryptedAnswer(b, 3072)
	ctx := context.Background()
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
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
