package e2e

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keygate/keygate/examples/demoprovider"
	"github.com/keygate/keygate/internal/devstack"
)

// h2c sends req to the egress over prior-knowledge HTTP/2 cleartext, as a service would to
// Envoy's listener (codec_type AUTO).
func h2c(t *testing.T, req *http.Request) (int, string) {
	t.Helper()
	protos := new(http.Protocols)
	protos.SetUnencryptedHTTP2(true)
	tr := &http.Transport{Protocols: protos}
	defer tr.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := tr.RoundTrip(req.WithContext(ctx))
	if err != nil {
		t.Fatalf("h2c: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// A request with HEADERS then trailers and no DATA: Envoy sends no request_body message
// (Filter::onTrailers), so keygate, waiting for a body to sign, asks for the trailers and
// refuses there. Before, Envoy continued with the unsigned headers and the tenant key.
func TestTrailersOnlyRequestNeverReachesTheProvider(t *testing.T) {
	up, seen := captureUpstream(t)
	s := startStack(t, devstack.Options{ConfigDir: configDir(t, failuresConfig, up.URL, failuresKeys)})
	req, err := http.NewRequest("POST", s.EgressURL+"/x", io.NopCloser(strings.NewReader("")))
	if err != nil {
		t.Fatal(err)
	}
	req.Host = "simple.egress.local"
	req.ContentLength = -1
	req.Header.Set("X-Keygate-Tenant-Key", "kg_whatever")
	req.Trailer = http.Header{"X-Checksum": {"abc"}}
	status, body := h2c(t, req)
	if status != 400 {
		t.Fatalf("status %d (%s), want keygate's 400", status, body)
	}
	if st, stage := errorBody(t, body); st != 400 || stage != "sign" {
		t.Errorf("error body names %d %q", st, stage)
	}
	if seen.count() != 0 {
		t.Fatal("the unsigned request reached the provider")
	}
	// The same provider with a body over HTTP/2 is signed as usual.
	req, _ = http.NewRequest("POST", s.EgressURL+"/x", strings.NewReader(`{"a":1}`))
	req.Host = "simple.egress.local"
	req.Header.Set("Content-Type", "application/json")
	if status, body := h2c(t, req); status != 200 || seen.count() != 1 {
		t.Fatalf("signed HTTP/2 request: %d %s", status, body)
	}
}

const tokenConfig = `
keystore: {type: file, file: {path: keys.yaml}}
providers:
  - name: tok
    hosts: [tok.egress.local]
    upstream: {url: "UPSTREAM/api"}
    token:
      type: http
      url: "UPSTREAM/token"
      params: {body: {client: keygate}}
    signing:
      - {scheme: token}
`

// tokenProvider issues tok-1, tok-2, ... and rejects tok-1 with 401; it records what the API saw.
type tokenProvider struct {
	delay  time.Duration // before answering with a fresh token
	issued atomic.Int32
	mu     sync.Mutex
	calls  []string // "authorization body"
}

func (p *tokenProvider) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	if r.URL.Path == "/token" {
		n := p.issued.Add(1)
		_ = json.NewEncoder(w).Encode(map[string]any{"access_token": fmt.Sprintf("tok-%d", n), "expires_in": 3600})
		return
	}
	auth := r.Header.Get("Authorization")
	p.mu.Lock()
	p.calls = append(p.calls, auth+" "+string(b))
	p.mu.Unlock()
	if auth == "Bearer tok-1" {
		http.Error(w, `{"error":"token expired"}`, http.StatusUnauthorized)
		return
	}
	time.Sleep(p.delay)
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(`{"ok":true}`))
}

// The one retry after a 401 re-signs with a fresh token and resends the caller's body, for a
// provider whose steps need no body (before, keygate never saw the body and retried with none).
func TestTokenRetryResendsTheCallersBody(t *testing.T) {
	prov := &tokenProvider{}
	up := httptest.NewServer(prov)
	t.Cleanup(up.Close)
	s := startStack(t, devstack.Options{ConfigDir: configDir(t, tokenConfig, up.URL, "{}\n")})
	const payload = `{"amount":26,"currency":"EUR"}`
	status, _, body := call(t, s, "POST", "tok.egress.local", "/pay", payload, nil)
	if status != 200 {
		t.Fatalf("status %d: %s", status, body)
	}
	prov.mu.Lock()
	defer prov.mu.Unlock()
	want := []string{"Bearer tok-1 " + payload, "Bearer tok-2 " + payload}
	if strings.Join(prov.calls, "|") != strings.Join(want, "|") {
		t.Fatalf("provider saw %q, want one retry with a fresh token and the caller's body", prov.calls)
	}
}

const demoConfig = `
keystore: {type: file, file: {path: keys.yaml}}
providers:
  - name: demo
    hosts: [demo.egress.local]
    upstream: {url: "UPSTREAM/v1"}
    secrets:
      app_secret: secret/keygate/demo#app_secret
      aes_key: secret/keygate/demo#aes_key
      aes_iv: secret/keygate/demo#aes_iv
    signing:
      - {scheme: aes_cbc, key: aes_key, iv: aes_iv, field: data}
      - {scheme: simple, app_key: demo-app, app_secret: app_secret}
`

const demoKeys = `
secret/keygate/demo:
  app_secret: demo-app-secret-0123456789
  aes_key: demo-aes-key-16b
  aes_iv: demo-aes-iv-16by
`

// gzipping wraps the demo provider: it gzips its answer when the request accepts gzip (or
// always, to play a provider that ignores Accept-Encoding).
func gzipping(always bool) (http.Handler, *atomic.Value) {
	inner := demoprovider.New(devstack.DemoCredentials, demoprovider.Options{})
	seen := &atomic.Value{}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen.Store(r.Header.Get("Accept-Encoding"))
		if !always && !strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
			inner.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		inner.ServeHTTP(rec, r)
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		_, _ = zw.Write(rec.Body.Bytes())
		_ = zw.Close()
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.Header().Set("Content-Encoding", "gzip")
		w.Header().Set("Content-Length", fmt.Sprint(buf.Len()))
		w.WriteHeader(rec.Code)
		_, _ = w.Write(buf.Bytes())
	}), seen
}

// Envoy passes the caller's Accept-Encoding through: keygate asks for identity on requests
// whose response it decrypts, and names a content coding it cannot process.
func TestCompressedAnswersAreNeverDecryptedBlind(t *testing.T) {
	const order = `{"data":"{\"amount\":100}","timestamp":"1700000000"}`
	t.Run("gzip-capable provider", func(t *testing.T) {
		h, seen := gzipping(false)
		up := httptest.NewServer(h)
		t.Cleanup(up.Close)
		s := startStack(t, devstack.Options{ConfigDir: configDir(t, demoConfig, up.URL, demoKeys)})
		status, _, body := call(t, s, "POST", "demo.egress.local", "/orders", order, map[string]string{"Accept-Encoding": "gzip"})
		if status != 200 || !strings.Contains(body, `"received":"{\"amount\":100}"`) {
			t.Fatalf("status %d: %s", status, body)
		}
		if got := seen.Load(); got != "identity" {
			t.Errorf("provider saw Accept-Encoding %q, want identity", got)
		}
	})
	t.Run("provider that gzips regardless", func(t *testing.T) {
		h, _ := gzipping(true)
		up := httptest.NewServer(h)
		t.Cleanup(up.Close)
		s := startStack(t, devstack.Options{ConfigDir: configDir(t, demoConfig, up.URL, demoKeys)})
		status, _, body := call(t, s, "POST", "demo.egress.local", "/orders", order, nil)
		if status != 502 || !strings.Contains(body, `content-encoding \"gzip\"`) {
			t.Fatalf("status %d: %s, want a 502 naming the coding", status, body)
		}
	})
}

// HTTP-proxy style (docs/mesh-egress.md): `POST http://host/path` in absolute form. Envoy's
// HTTP/1 codec splits :authority and :path out of it (allow_absolute_url defaults to true).
func TestAbsoluteFormRequestIsRoutedAndSigned(t *testing.T) {
	up, seen := captureUpstream(t)
	s := startStack(t, devstack.Options{ConfigDir: configDir(t, failuresConfig, up.URL, failuresKeys)})
	conn, err := net.Dial("tcp", strings.TrimPrefix(s.EgressURL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	const body = `{"n":1}`
	fmt.Fprintf(conn, "POST http://static.egress.local/v2/items?x=1 HTTP/1.1\r\nHost: static.egress.local\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s", len(body), body)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, b)
	}
	r, got := seen.last()
	if r.URL.RequestURI() != "/api/v2/items?x=1" || r.Header.Get("X-Api-Key") == "" || got != body {
		t.Fatalf("provider saw %q, credential present=%v, body %q", r.URL.RequestURI(), r.Header.Get("X-Api-Key") != "", got)
	}
}

// Envoy's router takes a retry policy from request headers of any caller it does not treat as
// an edge request; a signed payment retried on reset or 5xx would be submitted twice.
func TestCallerCannotSteerRouterRetries(t *testing.T) {
	up, seen := captureUpstream(t)
	s := startStack(t, devstack.Options{ConfigDir: configDir(t, failuresConfig, up.URL, failuresKeys)})
	for _, h := range []string{"X-Envoy-Retry-On", "X-Envoy-Max-Retries", "X-Envoy-Retry-Grpc-On", "X-Envoy-Hedge-On-Per-Try-Timeout",
		"X-Envoy-Retriable-Status-Codes", "X-Envoy-Retriable-Header-Names"} {
		status, _, body := call(t, s, "POST", "static.egress.local", "/pay", `{}`, map[string]string{h: "reset,5xx"})
		if status != 400 || !strings.Contains(body, strings.ToLower(h)) {
			t.Errorf("%s: status %d %s, want a 400 naming the header", h, status, body)
		}
	}
	if seen.count() != 0 {
		t.Fatal("a request with a caller-set retry policy reached the provider")
	}
}

// The retry after a 401 reaches a provider behind a private CA: it uses the provider's
// upstream settings (ca_file, SNI, HTTP/2, connect timeout), as its Envoy cluster does, not
// Go's default transport with the system roots and HTTP(S)_PROXY.
func TestTokenRetryTrustsTheProvidersPrivateCA(t *testing.T) {
	prov := &tokenProvider{}
	api := httptest.NewTLSServer(prov)
	t.Cleanup(api.Close)
	tokens := httptest.NewServer(prov)
	t.Cleanup(tokens.Close)
	t.Setenv("HTTPS_PROXY", "http://127.0.0.1:1") // must not be used
	dir := t.TempDir()
	ca := filepath.Join(dir, "provider-ca.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: api.Certificate().Raw})
	if err := os.WriteFile(ca, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := strings.ReplaceAll(tokenConfig, `{url: "UPSTREAM/api"}`, `{url: "`+api.URL+`/api", ca_file: "`+ca+`", sni: example.com}`)
	s := startStack(t, devstack.Options{ConfigDir: configDir(t, cfg, tokens.URL, "{}\n")})
	status, _, body := call(t, s, "POST", "tok.egress.local", "/pay", `{"n":1}`, nil)
	if status != 200 {
		t.Fatalf("status %d: %s", status, body)
	}
	prov.mu.Lock()
	defer prov.mu.Unlock()
	if len(prov.calls) != 2 || !strings.HasPrefix(prov.calls[1], "Bearer tok-2 ") {
		t.Fatalf("provider saw %q, want the rejected call and the retry", prov.calls)
	}
}

// Without upstream signing (envoy.upstream_signing: false) keygate sends the retry itself,
// inside one response_headers message: it first asks Envoy to wait for it
// (override_message_timeout, within max_message_timeout), so a provider slower than the
// message timeout (here 1.3 s: the token timeout plus a second) still answers the retry. With
// upstream signing the router retries and no message waits for the provider.
func TestTokenRetryOutlastsTheMessageTimeout(t *testing.T) {
	for _, tc := range []struct {
		name      string
		upstream  bool
		overrides int64
	}{{"keygate's retry", false, 1}, {"the router's retry", true, 0}} {
		t.Run(tc.name, func(t *testing.T) {
			prov := &tokenProvider{delay: 1600 * time.Millisecond}
			up := httptest.NewServer(prov)
			t.Cleanup(up.Close)
			cfg := strings.Replace(tokenConfig, `url: "UPSTREAM/token"`, "url: \"UPSTREAM/token\"\n      timeout: 300ms", 1)
			cfg = fmt.Sprintf("envoy: {upstream_signing: %v}\n%s", tc.upstream, cfg)
			s := startStack(t, devstack.Options{ConfigDir: configDir(t, cfg, up.URL, "{}\n")})
			status, _, body := call(t, s, "POST", "tok.egress.local", "/pay", `{"n":1}`, nil)
			if status != 200 {
				t.Fatalf("status %d: %s", status, body)
			}
			if n := s.Emulator.Stats().OverrideMessageTimeouts; n != tc.overrides {
				t.Errorf("%d override_message_timeout messages honoured, want %d", n, tc.overrides)
			}
		})
	}
}

// With upstream signing (the default) the one retry after a rejected token is Envoy's: the
// route retries the 401 (retriable-status-codes), each attempt runs its own upstream ext_proc
// stream in the provider's cluster and is signed there with a fresh token, over the caller's
// body. Before, keygate sent the retry itself from the downstream stream (one stream, an
// override_message_timeout). The provider sees one Authorization per attempt (overwritten,
// never appended) and no keygate header.
func TestTokenRetryGoesThroughEnvoy(t *testing.T) {
	prov := &tokenProvider{}
	var headers []http.Header
	var mu sync.Mutex
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		headers = append(headers, r.Header.Clone())
		mu.Unlock()
		prov.ServeHTTP(w, r)
	}))
	t.Cleanup(up.Close)
	s := startStack(t, devstack.Options{ConfigDir: configDir(t, tokenConfig, up.URL, "{}\n")})
	const payload = `{"amount":26,"currency":"EUR"}`
	status, _, body := call(t, s, "POST", "tok.egress.local", "/pay", payload, map[string]string{"X-Keygate-Tenant-Key": "kg_x"})
	if status != 200 {
		t.Fatalf("status %d: %s", status, body)
	}
	prov.mu.Lock()
	calls := prov.calls
	prov.mu.Unlock()
	if want := []string{"Bearer tok-1 " + payload, "Bearer tok-2 " + payload}; strings.Join(calls, "|") != strings.Join(want, "|") {
		t.Fatalf("provider saw %q, want %q", calls, want)
	}
	st := s.Emulator.Stats()
	if st.StreamsOpened != 3 || st.OverrideMessageTimeouts != 0 || st.UpstreamRequests != 1 {
		t.Errorf("ext_proc streams %d (want the downstream one and one per attempt: 3), overrides %d (want 0), router requests %d (want 1)",
			st.StreamsOpened, st.OverrideMessageTimeouts, st.UpstreamRequests)
	}
	mu.Lock()
	defer mu.Unlock()
	for i, h := range headers {
		if h.Get("Authorization") == "" {
			continue // the token fetch
		}
		if n := len(h.Values("Authorization")); n != 1 {
			t.Errorf("attempt %d carried %d Authorization values", i, n)
		}
		for k := range h {
			if strings.HasPrefix(strings.ToLower(k), "x-keygate-") {
				t.Errorf("attempt %d carried %s", i, k)
			}
		}
	}
}

// An upstream attempt keygate cannot sign never leaves: here the token endpoint fails after the
// first token was rejected, so the retry's upstream stream cannot sign. Envoy ignores an
// upstream immediate response, so keygate ends the stream with an error; the attempt is stopped
// and the caller gets the route timeout's 504. The provider sees only the first, signed attempt.
func TestUnsignableRetryNeverLeaves(t *testing.T) {
	prov := &tokenProvider{}
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/token" && prov.issued.Load() >= 1 {
			http.Error(w, "down", http.StatusInternalServerError)
			return
		}
		prov.ServeHTTP(w, r)
	}))
	t.Cleanup(up.Close)
	cfg := strings.Replace(tokenConfig, `{url: "UPSTREAM/api"}`, `{url: "UPSTREAM/api", timeout: 1s}`, 1)
	s := startStack(t, devstack.Options{ConfigDir: configDir(t, cfg, up.URL, "{}\n")})
	status, _, body := call(t, s, "POST", "tok.egress.local", "/pay", `{"n":1}`, nil)
	if status != http.StatusGatewayTimeout {
		t.Fatalf("status %d: %s, want the route timeout's 504", status, body)
	}
	prov.mu.Lock()
	defer prov.mu.Unlock()
	if len(prov.calls) != 1 || !strings.HasPrefix(prov.calls[0], "Bearer tok-1 ") {
		t.Fatalf("provider saw %q, want only the first, signed attempt", prov.calls)
	}
}

// A token provider whose steps also change the body: each attempt encrypts the caller's
// original body (the router's copy) in the upstream phase, with the content-length of the new
// body, and signs with its own token; the provider never sees the plaintext.
func TestUpstreamSigningEncryptsEachAttempt(t *testing.T) {
	prov := &tokenProvider{}
	up := httptest.NewServer(prov)
	t.Cleanup(up.Close)
	cfg := tokenConfig + `    secrets:
      aes_key: secret/keygate/demo#aes_key
      aes_iv: secret/keygate/demo#aes_iv
`
	cfg = strings.Replace(cfg, "      - {scheme: token}\n", "      - {scheme: aes_cbc, key: aes_key, iv: aes_iv, field: data}\n      - {scheme: token}\n", 1)
	s := startStack(t, devstack.Options{ConfigDir: configDir(t, cfg, up.URL, demoKeys)})
	const payload = `{"data":"{\"amount\":26}","n":1}`
	status, _, body := call(t, s, "POST", "tok.egress.local", "/pay", payload, nil)
	if status != 200 {
		t.Fatalf("status %d: %s", status, body)
	}
	prov.mu.Lock()
	defer prov.mu.Unlock()
	if len(prov.calls) != 2 || !strings.HasPrefix(prov.calls[0], "Bearer tok-1 ") || !strings.HasPrefix(prov.calls[1], "Bearer tok-2 ") {
		t.Fatalf("provider saw %q, want two attempts with tok-1 then tok-2", prov.calls)
	}
	for i, c := range prov.calls {
		_, sent, _ := strings.Cut(c, " ")
		_, sent, _ = strings.Cut(sent, " ")
		var obj map[string]any
		if err := json.Unmarshal([]byte(sent), &obj); err != nil || strings.Contains(sent, "amount") || obj["n"] != float64(1) {
			t.Errorf("attempt %d body %q: want the data field encrypted once, the rest as sent", i+1, sent)
		}
	}
	if prov.calls[0] != strings.Replace(prov.calls[1], "tok-2", "tok-1", 1) {
		t.Errorf("attempt bodies differ: %q vs %q (each must encrypt the caller's original body)", prov.calls[0], prov.calls[1])
	}
}
