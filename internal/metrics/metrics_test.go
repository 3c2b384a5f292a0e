package metrics_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/keygate/keygate/extproc"
	"github.com/keygate/keygate/internal/app"
	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/internal/gateway"
	"github.com/keygate/keygate/internal/metrics"
	"github.com/keygate/keygate/internal/secret"
	"github.com/keygate/keygate/internal/token"
	"github.com/keygate/keygate/keystore"
)

// Secret values of this test: none may appear in a scrape.
const (
	appSecret   = "metrics-test-app-secret-9f8e7d"
	aesKey      = "metrics-aes-k-16"
	tokenSecret = "metrics-test-bearer-token-5a4b3c"
)

const providers = `
providers:
  - name: demo
    tenant: acme
    hosts: [demo.egress.local]
    upstream: {url: "https://demo.example.com/v1"}
    secrets:
      app_secret: secret/mt/demo#app_secret
      aes_key: secret/mt/demo#aes_key
      aes_iv: secret/mt/demo#aes_iv
    signing:
      - {scheme: aes_cbc, key: aes_key, iv: aes_iv, field: data, decrypt_response: false}
      - {scheme: simple, app_key: demo-app, app_secret: app_secret}
`

// TestScrape drives requests through keygate's ext_proc server over real gRPC, with the
// keystore cache and a token manager reporting to the same Metrics, then scrapes /metrics.
func TestScrape(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := metrics.New(reg)
	m.SetConfigVersion(7)
	client := startKeygate(t, m)

	ok := []*extprocv3.ProcessingRequest{
		headers(false, ":authority", "demo.egress.local", ":path", "/pay", ":method", "POST", "content-type", "application/json"),
		{Request: &extprocv3.ProcessingRequest_RequestBody{RequestBody: &extprocv3.HttpBody{
			Body: []byte(`{"timestamp":"1700000000","data":"hello"}`), EndOfStream: true}}},
		{Request: &extprocv3.ProcessingRequest_ResponseHeaders{ResponseHeaders: &extprocv3.HttpHeaders{
			Headers: headerMap(":status", "200"), EndOfStream: true}}},
	}
	for range 3 {
		if status := exchange(t, client, ok); status != 0 {
			t.Fatalf("signed request refused with %d", status)
		}
	}
	if status := exchange(t, client, []*extprocv3.ProcessingRequest{headers(true, ":authority", "nobody.egress.local", ":path", "/", ":method", "GET")}); status != 404 {
		t.Fatalf("unknown host answered %d, want 404", status)
	}

	// The token manager's events, through the adapter (a fetch, then a cached hit).
	tm := token.NewManager(token.Options{Observer: m.TokenObserver()})
	src := tm.Source("acme", "demo", token.FetcherFunc(func(context.Context) (token.Token, error) {
		return token.Token{Value: secret.New([]byte(tokenSecret)), Expiry: time.Now().Add(time.Hour)}, nil
	}), token.Policy{})
	for range 2 {
		if _, err := src.Token(context.Background()); err != nil {
			t.Fatalf("token: %v", err)
		}
	}
	m.CacheObserver().BackendError(keystore.Ref{Kind: keystore.KV, Mount: "secret", Path: "mt/demo", Field: "app_secret"}, errors.New("vault sealed"))

	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body := rec.Body.String()
	for _, want := range []string{
		`keygate_requests_total{outcome="ok",phase="request",provider="demo",stage="",status="none",tenant="acme"} 3`,
		`keygate_requests_total{outcome="ok",phase="response",provider="demo",stage="",status="none",tenant="acme"} 3`,
		`keygate_requests_total{outcome="failed",phase="request",provider="",stage="identify",status="4xx",tenant=""} 1`,
		`keygate_request_duration_seconds_count{phase="request",provider="demo",tenant="acme"} 3`,
		`keygate_stage_duration_seconds_count{phase="request",stage="identify"} 4`,
		`keygate_stage_duration_seconds_count{phase="request",stage="config"} 3`,
		`keygate_stage_duration_seconds_count{phase="request",stage="key_fetch"} 3`,
		`keygate_stage_duration_seconds_count{phase="request",stage="crypto"} 3`,
		`keygate_stage_duration_seconds_count{phase="request",stage="total"} 4`,
		`keygate_keystore_cache_total{mount="secret",result="miss"}`,
		`keygate_keystore_cache_total{mount="secret",result="hit"}`,
		`keygate_vault_errors_total{mount="secret"} 1`,
		`keygate_token_fetches_total{outcome="ok",provider="demo",tenant="acme"} 1`,
		`keygate_token_lookups_total{provider="demo",result="hit",tenant="acme"} 1`,
		`keygate_token_lookups_total{provider="demo",result="miss",tenant="acme"} 1`,
		`keygate_config_version 7`,
	} {
		t.Run(want[:strings.IndexAny(want, "{ ")], func(t *testing.T) {
			if !strings.Contains(body, want) {
				t.Errorf("scrape lacks %s", want)
			}
		})
	}
	for name, s := range map[string]string{"app secret": appSecret, "aes key": aesKey, "token": tokenSecret} {
		if strings.Contains(body, s) {
			t.Errorf("scrape contains the %s value", name) // the value itself is not printed
		}
	}
}

func startKeygate(t *testing.T, m *metrics.Metrics) extprocv3.ExternalProcessorClient {
	t.Helper()
	dir := t.TempDir()
	keys := "secret/mt/demo:\n  app_secret: " + appSecret + "\n  aes_key: " + aesKey + "\n  aes_iv: metrics-aes-iv16\n"
	if err := os.WriteFile(filepath.Join(dir, "keys.yaml"), []byte(keys), 0o600); err != nil {
		t.Fatal(err)
	}
	file, err := keystore.OpenFile(filepath.Join(dir, "keys.yaml"), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	cache, err := keystore.NewCache(file, keystore.CacheOptions{Observer: m.CacheObserver()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cache.Close() })
	f, err := config.Parse([]byte(providers))
	if err != nil {
		t.Fatal(err)
	}
	a, err := app.New(context.Background(), config.Keystore{}, app.Options{Keystore: cache})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Apply(f, gateway.Meta{}); err != nil {
		t.Fatal(err)
	}
	g, _ := extproc.NewGRPCServer(extproc.NewServer(extproc.Options{Snapshots: &a.Snapshots, Observer: m}), 1<<20)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = g.Serve(l) }()
	t.Cleanup(g.Stop)
	conn, err := grpc.NewClient(l.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return extprocv3.NewExternalProcessorClient(conn)
}

func headerMap(kv ...string) *corev3.HeaderMap {
	hm := &corev3.HeaderMap{}
	for i := 0; i < len(kv); i += 2 {
		hm.Headers = append(hm.Headers, &corev3.HeaderValue{Key: kv[i], RawValue: []byte(kv[i+1])})
	}
	return hm
}

func headers(eos bool, kv ...string) *extprocv3.ProcessingRequest {
	return &extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_RequestHeaders{
		RequestHeaders: &extprocv3.HttpHeaders{Headers: headerMap(kv...), EndOfStream: eos}}}
}

// exchange sends msgs on one stream, each after the previous answer, as Envoy does. It returns
// the status of an immediate response, 0 when there was none.
func exchange(t *testing.T, c extprocv3.ExternalProcessorClient, msgs []*extprocv3.ProcessingRequest) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	stream, err := c.Process(ctx)
	if err != nil {
		t.Fatal(err)
	}
	status := 0
	for _, msg := range msgs {
		if err := stream.Send(msg); err != nil {
			t.Fatal(err)
		}
		resp, err := stream.Recv()
		if err != nil {
			t.Fatal(err)
		}
		if ir := resp.GetImmediateResponse(); ir != nil {
			status = int(ir.GetStatus().GetCode()) // Envoy sends nothing more on this stream
			break
		}
	}
	_ = stream.CloseSend()
	if _, err := stream.Recv(); !errors.Is(err, io.EOF) {
		t.Fatalf("stream end: %v", err)
	}
	return status
}

// TestHideNames: with HideNames no series names a tenant or a provider; totals still count.
func TestHideNames(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := metrics.NewWithOptions(reg, metrics.Options{HideNames: true})
	m.Observe(extproc.Outcome{Phase: "request", Tenant: "acme", Provider: "acme-pay", Duration: time.Millisecond})
	m.TokenObserver().Lookup(token.Key{Tenant: "acme", Provider: "acme-pay"}, true)
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body := rec.Body.String()
	if strings.Contains(body, "acme") {
		t.Fatalf("/metrics names a tenant or provider with HideNames:\n%s", body)
	}
	if !strings.Contains(body, `keygate_requests_total{outcome="ok",phase="request",provider="",stage="",status="none",tenant=""} 1`) {
		t.Fatalf("the request is not counted in the nameless series:\n%s", body)
	}
}

// TestConfigApplyFailures: every source (file, store, admin_tokens_file) is exported at 0
// before the first failure, so an alert on increase() fires on the first refused change rather
// than on the second.
func TestConfigApplyFailures(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := metrics.New(reg)
	m.ConfigApplyFailed("file")
	got := map[string]float64{}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "keygate_config_apply_failures_total" {
			continue
		}
		for _, s := range mf.GetMetric() {
			got[s.GetLabel()[0].GetValue()] = s.GetCounter().GetValue()
		}
	}
	if got["file"] != 1 || len(got) != 3 || got["store"] != 0 || got["admin_tokens_file"] != 0 {
		t.Fatalf("keygate_config_apply_failures_total = %v, want file 1, store 0, admin_tokens_file 0", got)
	}
}
