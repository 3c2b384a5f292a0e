package leakscan

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/keygate/keygate/internal/admin"
	"github.com/keygate/keygate/internal/app"
	"github.com/keygate/keygate/internal/cli"
	"github.com/keygate/keygate/internal/secret"
	"github.com/keygate/keygate/internal/testkit"
	"github.com/keygate/keygate/test/faults"
)

// world is a config with fresh secrets: a static key, an encrypting and signing provider, and
// an admin token.
type world struct {
	dir, cfg, admin, ext string
	apiKey, appSecret    string
	aesKey, aesIV        string
	adminToken           string
}

func newWorld(t *testing.T, upstream string) *world {
	w := &world{dir: t.TempDir(), apiKey: randomHex("lk-api-", 12), appSecret: randomHex("lk-app-", 12),
		aesKey: randomHex("", 8), aesIV: randomHex("", 8), adminToken: randomHex("lk-admin-", 16)}
	w.cfg = filepath.Join(w.dir, "keygate.yaml")
	keys := "secret/leak/k:\n  api_key: " + w.apiKey + "\n  app_secret: " + w.appSecret +
		"\n  aes_key: " + w.aesKey + "\n  aes_iv: " + w.aesIV + "\n"
	cfg := `listen: {ext_proc: '127.0.0.1:0', admin: '127.0.0.1:0', xds: '127.0.0.1:0'}
state: {dir: 'STATE'}
admin:
  tokens: [{name: ops, role: gateway_admin, hash: 'HASH'}]
keystore: {type: file, file: {path: keys.yaml}}
providers:
  - name: static
    hosts: [static.leak.local]
    upstream: {url: 'UPSTREAM/api'}
    secrets: {api_key: secret/leak/k#api_key}
    signing: [{scheme: static, secret: api_key, in: header, name: X-Api-Key}]
  - name: simple
    hosts: [simple.leak.local]
    upstream: {url: 'UPSTREAM/api'}
    secrets: {app_secret: secret/leak/k#app_secret, aes_key: secret/leak/k#aes_key, aes_iv: secret/leak/k#aes_iv}
    signing:
      - {scheme: aes_cbc, key: aes_key, iv: aes_iv, field: data}
      - {scheme: simple, app_key: leak-app, app_secret: app_secret}
`
	cfg = strings.NewReplacer("STATE", filepath.Join(w.dir, "state"),
		"HASH", admin.HashToken(secret.FromString(w.adminToken)), "UPSTREAM", upstream).Replace(cfg)
	for name, data := range map[string]string{"keygate.yaml": cfg, "keys.yaml": keys} {
		if err := os.WriteFile(filepath.Join(w.dir, name), []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return w
}

func (w *world) scanner() *scanner {
	return newScanner(w.apiKey, w.appSecret, w.aesKey, w.aesIV, w.adminToken)
}

// TestNoSecretInDaemonOutputs runs `keygate serve` (the real binary) behind the egress, sends
// requests that succeed and that fail, reads /metrics, /readyz and the admin API with a token,
// stops it, and scans its whole log output and every reply.
func TestNoSecretInDaemonOutputs(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		_, _ = w.Write([]byte(`{"ok":true}`))
	}))
	defer up.Close()
	w := newWorld(t, up.URL)
	bin := testkit.BuildKeygate(t, false)
	p := testkit.StartProcess(t, bin, "--log-level", "debug", "serve", "--config", w.cfg, "--drain-timeout", "2s")
	addrs := p.WaitServing(t, 10*time.Second, w.scanner().set.Apply)
	w.ext, w.admin = addrs.ExtProc, addrs.Admin
	p.WaitHTTP200(t, "http://"+w.admin+"/readyz", 10*time.Second, w.scanner().set.Apply)

	loaded, err := app.Load(w.cfg)
	if err != nil {
		t.Fatal(err)
	}
	egress := faults.StartEgress(t, loaded.File, w.ext, slog.New(slog.DiscardHandler))
	s := w.scanner()
	for _, c := range []struct{ host, body string }{
		{"static.leak.local", `{"n":1}`}, {"simple.leak.local", `{"data":"hello","timestamp":"1"}`},
		{"simple.leak.local", `not json`}, {"nobody.leak.local", `{}`},
	} {
		status, body := post(t, egress, c.host, c.body)
		s.check(t, "the reply to "+c.host+" ("+itoa(status)+")", body)
	}
	for _, path := range []string{"/metrics", "/readyz", "/healthz", "/v1/whoami", "/v1/config",
		"/v1/config/versions", "/v1/config/versions/1", "/v1/tenants", "/v1/audit"} {
		status, body := get(t, "http://"+w.admin+path, w.adminToken)
		if path == "/metrics" && status == http.StatusOK && !bytes.Contains(body, []byte("keygate_")) {
			t.Errorf("/metrics has no keygate_ series: the scan of it proves little")
		}
		s.check(t, "admin "+path+" ("+itoa(status)+")", body)
	}
	_ = p.Cmd.Process.Signal(syscall.SIGTERM)
	<-p.Exited
	s.check(t, "keygate serve's log output", p.Out.Bytes())
	t.Logf("scanned %d bytes (log output %d bytes)", s.scanned, len(p.Out.Bytes()))
}

// TestNoSecretInDryRun: `keygate sign` without --reveal prints no secret; with --reveal it does
// (the positive control: the scanner would have seen it).
func TestNoSecretInDryRun(t *testing.T) {
	w := newWorld(t, "http://127.0.0.1:9")
	req := filepath.Join(w.dir, "req.http")
	raw := "POST /orders HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\r\n{\"data\":\"hello\",\"timestamp\":\"1\"}"
	if err := os.WriteFile(req, []byte(raw), 0o600); err != nil {
		t.Fatal(err)
	}
	s := w.scanner()
	for _, provider := range []string{"static", "simple", "nobody"} {
		var stdout, stderr bytes.Buffer
		err := cli.Main(context.Background(), []string{"sign", "--config", w.cfg, "--provider", provider, "--request", req}, &stdout, &stderr)
		s.check(t, "keygate sign --provider "+provider+" output", stdout.Bytes())
		s.check(t, "keygate sign --provider "+provider+" errors", append(stderr.Bytes(), errText(err)...))
	}
	var revealed bytes.Buffer
	_ = cli.Main(context.Background(), []string{"sign", "--config", w.cfg, "--provider", "static", "--request", req, "--reveal"}, &revealed, io.Discard)
	if found, _ := newScanner(w.apiKey).set.Find(revealed.Bytes()); !found {
		t.Errorf("with --reveal the API key was not found: the scanner or the dry run is broken")
	}
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func post(t *testing.T, egress, host, body string) (int, []byte) {
	req, _ := http.NewRequest(http.MethodPost, egress+"/orders", strings.NewReader(body))
	req.Host = host
	req.Header.Set("Content-Type", "application/json")
	return do(t, req)
}

func get(t *testing.T, url, token string) (int, []byte) {
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	return do(t, req)
}

func do(t *testing.T, req *http.Request) (int, []byte) {
	t.Helper()
	c := http.Client{Timeout: 10 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func itoa(i int) string { return strconv.Itoa(i) }
