package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/keygate/keygate/internal/devstack"
)

// captured is what a loopback upstream received.
type captured struct {
	mu   sync.Mutex
	reqs []*http.Request
	body []string
}

func (c *captured) count() int { c.mu.Lock(); defer c.mu.Unlock(); return len(c.reqs) }

func (c *captured) last() (*http.Request, string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.reqs[len(c.reqs)-1], c.body[len(c.body)-1]
}

func captureUpstream(t testing.TB) (*httptest.Server, *captured) {
	c := &captured{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		c.mu.Lock()
		c.reqs, c.body = append(c.reqs, r), append(c.body, string(b))
		c.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"ok":true}`))
	}))
	t.Cleanup(srv.Close)
	return srv, c
}

// configDir writes a keygate.yaml (with UPSTREAM replaced) and keys.yaml into a temp folder.
func configDir(t testing.TB, cfg, upstream, keys string) string {
	dir := t.TempDir()
	cfg = strings.ReplaceAll(cfg, "UPSTREAM", upstream)
	for name, data := range map[string]string{"keygate.yaml": cfg, "keys.yaml": keys} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

const failuresConfig = `
keystore: {type: file, file: {path: keys.yaml}}
limits: {max_body_bytes: 4096}
providers:
  - name: static
    hosts: [static.egress.local]
    upstream: {url: "UPSTREAM/api"}
    secrets: {api_key: secret/keygate/static#api_key}
    signing:
      - {scheme: static, secret: api_key, in: header, name: X-Api-Key}
  - name: simple
    hosts: [simple.egress.local]
    upstream: {url: "UPSTREAM/api"}
    secrets: {app_secret: secret/keygate/static#app_secret}
    signing:
      - {scheme: simple, app_key: k, app_secret: app_secret}
  - name: missing-secret
    hosts: [missing.egress.local]
    upstream: {url: "UPSTREAM/api"}
    secrets: {api_key: secret/keygate/static#not_there}
    signing:
      - {scheme: static, secret: api_key, in: bearer}
`

const failuresKeys = `
secret/keygate/static:
  api_key: e2e-static-api-key-value
  app_secret: e2e-app-secret-value
`

func errorBody(t *testing.T, body string) (status int, stage string) {
	t.Helper()
	var e struct {
		Error struct {
			Status int    `json:"status"`
			Stage  string `json:"stage"`
		} `json:"error"`
	}
	if err := json.Unmarshal([]byte(body), &e); err != nil {
		t.Fatalf("error reply is not keygate's JSON error: %s", body)
	}
	return e.Error.Status, e.Error.Stage
}

func TestFailuresFailClosed(t *testing.T) {
	up, seen := captureUpstream(t)
	s := startStack(t, devstack.Options{ConfigDir: configDir(t, failuresConfig, up.URL, failuresKeys)})

	tests := []struct {
		name       string
		host, body string
		header     map[string]string
		wantStatus int
		wantStage  string
	}{
		{"unknown provider", "nobody.egress.local", `{}`, nil, 404, "identify"},
		{"body the scheme cannot parse", "simple.egress.local", `not json`, nil, 400, "sign"},
		{"secret that cannot be read", "missing.egress.local", `{}`, nil, 503, "keystore"},
		{"spoofed keygate header", "static.egress.local", `{}`, map[string]string{"X-Keygate-Tenant": "other"}, 403, "tenant"},
		{"body over the limit", "simple.egress.local", `{"a":"` + strings.Repeat("x", 5000) + `"}`, nil, 413, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := seen.count()
			status, _, body := call(t, s, "POST", tt.host, "/x", tt.body, tt.header)
			if status != tt.wantStatus {
				t.Fatalf("status %d, want %d (body %s)", status, tt.wantStatus, body)
			}
			if tt.wantStage != "" {
				if st, stage := errorBody(t, body); st != tt.wantStatus || stage != tt.wantStage {
					t.Errorf("error body names status %d stage %q, want %d %q", st, stage, tt.wantStatus, tt.wantStage)
				}
			}
			if seen.count() != before {
				t.Errorf("the upstream received the request: nothing may leave on failure")
			}
		})
	}
}

func TestRequestLeavesRewrittenAndStripped(t *testing.T) {
	up, seen := captureUpstream(t)
	s := startStack(t, devstack.Options{ConfigDir: configDir(t, failuresConfig, up.URL, failuresKeys)})
	status, _, body := call(t, s, "POST", "static.egress.local", "/v2/items?x=1", `{"n":1}`,
		map[string]string{"X-Keygate-Tenant-Key": "kg_whatever", "X-Trace": "t1"})
	if status != 200 {
		t.Fatalf("status %d: %s", status, body)
	}
	r, got := seen.last()
	upHost := strings.TrimPrefix(up.URL, "http://")
	checks := map[string][2]string{
		"path":        {r.URL.RequestURI(), "/api/v2/items?x=1"},
		"host":        {r.Host, upHost},
		"api key":     {r.Header.Get("X-Api-Key"), "e2e-static-api-key-value"},
		"caller hdr":  {r.Header.Get("X-Trace"), "t1"},
		"tenant key":  {r.Header.Get("X-Keygate-Tenant-Key"), ""},
		"body":        {got, `{"n":1}`},
		"content-len": {r.Header.Get("Content-Length"), ""},
	}
	for name, c := range checks {
		if name == "api key" {
			if c[0] != c[1] {
				t.Errorf("%s: the injected credential did not arrive (value withheld)", name)
			}
			continue
		}
		if c[0] != c[1] && name != "content-len" {
			t.Errorf("%s = %q, want %q", name, c[0], c[1])
		}
	}
	if r.ContentLength != int64(len(`{"n":1}`)) {
		t.Errorf("upstream content-length %d, want the exact body length", r.ContentLength)
	}
}
