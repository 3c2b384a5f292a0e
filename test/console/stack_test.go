package console

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keygate/keygate/internal/admin"
	"github.com/keygate/keygate/internal/daemon"
	"github.com/keygate/keygate/internal/secret"
)

// The keystore's values: the browser must never receive one, in any form it could be shown.
var secretValues = map[string]string{
	"app_secret": "console-app-secret-7f3e9a01",
	"aes_key":    "console-aes-k16b",
	"aes_iv":     "console-aes-iv16",
	"acme_key":   "acme-static-key-90ab12cd",
	"globex_key": "globex-static-key-5c2d88e4",
}

// Admin tokens per role; test values, hashed into the config.
const (
	gatewayToken = "kgtest_gateway_admin_token_0001"
	acmeAdmin    = "kgtest_acme_admin_token_0002"
	acmeDev      = "kgtest_acme_dev_token_0003"
)

// articleScript is the design article's request and response functions (examples/scripts).
func articleScript(t *testing.T) string {
	b, err := os.ReadFile("../../examples/scripts/article-two-step.js")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

const configTemplate = `listen: {ext_proc: "127.0.0.1:0", admin: "127.0.0.1:0", xds: "127.0.0.1:0"}
keystore: {type: file, file: {path: KEYS}}
state: {dir: STATE}
admin:
  metrics: {tenant_labels: true}
  tokens:
    - {name: root, role: gateway_admin, hash: "GW"}
    - {name: acme-admin, role: tenant_admin, tenant: acme, hash: "TA"}
    - {name: acme-dev, role: tenant_developer, tenant: acme, hash: "TD"}
tenants:
  - name: acme
    credentials: [{id: acme-svc, hash: "sha256:1111111111111111111111111111111111111111111111111111111111111111"}]
  - name: globex
    credentials: [{id: globex-svc, hash: "sha256:2222222222222222222222222222222222222222222222222222222222222222"}]
providers:
  - name: acme-pay
    tenant: acme
    hosts: [acme-pay.egress.local]
    upstream: {url: "https://pay.acme.example/v1"}
    secrets:
      app_secret: secret/keygate/tenants/acme/demo#app_secret
      aes_key: secret/keygate/tenants/acme/demo#aes_key
      aes_iv: secret/keygate/tenants/acme/demo#aes_iv
    signing:
      - {scheme: aes_cbc, key: aes_key, iv: aes_iv, field: data}
      - {scheme: simple, app_key: acme-app, app_secret: app_secret}
  - name: acme-script
    tenant: acme
    hosts: [acme-script.egress.local]
    upstream: {url: "https://script.acme.example/v1"}
    vars: {app_key: acme-app}
    secrets:
      app_secret: secret/keygate/tenants/acme/demo#app_secret
      aes_key: secret/keygate/tenants/acme/demo#aes_key
      aes_iv: secret/keygate/tenants/acme/demo#aes_iv
    token: {type: script, url: "https://script.acme.example/v1/token"}
    script:
      inline: |
SCRIPT
  - name: acme-static
    tenant: acme
    hosts: [acme-static.egress.local]
    upstream: {url: "https://static.acme.example"}
    secrets: {api_key: secret/keygate/tenants/acme/static#api_key}
    signing: [{scheme: static, secret: api_key, in: bearer}]
  - name: globex-pay
    tenant: globex
    hosts: [globex-pay.egress.local]
    upstream: {url: "https://pay.globex.example"}
    secrets: {api_key: secret/keygate/tenants/globex/static#api_key}
    signing: [{scheme: static, secret: api_key, in: bearer}]
`

func hashOf(tok string) string { return admin.HashToken(secret.FromString(tok)) }

// gateway is a running keygate (daemon.Run, as keygate serve) and its admin base URL.
type gateway struct {
	url     string
	extProc string // the ext_proc listener's address
}

func startGateway(t *testing.T) *gateway {
	t.Helper()
	return startGatewayWith(t, "")
}

// startGatewayWith starts keygate; keystore, when set, replaces the file keystore's line.
func startGatewayWith(t *testing.T, keystore string) *gateway {
	t.Helper()
	return startGatewayEdited(t, keystore, func(cfg string) string { return cfg })
}

// startGatewayEdited is startGatewayWith with the config text passed through edit.
func startGatewayEdited(t *testing.T, keystore string, edit func(string) string) *gateway {
	t.Helper()
	dir := t.TempDir()
	keys := "secret/keygate/tenants/acme/demo:\n  app_secret: " + secretValues["app_secret"] +
		"\n  aes_key: " + secretValues["aes_key"] + "\n  aes_iv: " + secretValues["aes_iv"] +
		"\nsecret/keygate/tenants/acme/static:\n  api_key: " + secretValues["acme_key"] +
		"\nsecret/keygate/tenants/globex/static:\n  api_key: " + secretValues["globex_key"] + "\n"
	if err := os.WriteFile(filepath.Join(dir, "keys.yaml"), []byte(keys), 0o600); err != nil {
		t.Fatal(err)
	}
	var script strings.Builder
	for _, l := range strings.Split(strings.TrimRight(articleScript(t), "\n"), "\n") {
		script.WriteString("        " + l + "\n")
	}
	cfg := strings.NewReplacer("KEYS", filepath.Join(dir, "keys.yaml"), "STATE", filepath.Join(dir, "state"),
		`"GW"`, `"`+hashOf(gatewayToken)+`"`, `"TA"`, `"`+hashOf(acmeAdmin)+`"`, `"TD"`, `"`+hashOf(acmeDev)+`"`,
		"SCRIPT\n", script.String()).Replace(configTemplate)
	if keystore != "" {
		cfg = strings.Replace(cfg, "keystore: {type: file, file: {path: "+filepath.Join(dir, "keys.yaml")+"}}", keystore, 1)
	}
	path := filepath.Join(dir, "keygate.yaml")
	if err := os.WriteFile(path, []byte(edit(cfg)), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	ready, done := make(chan daemon.Addrs, 1), make(chan error, 1)
	go func() {
		done <- daemon.Run(ctx, daemon.Options{ConfigPath: path, DrainTimeout: time.Second, WatchInterval: -1,
			Ready: func(a daemon.Addrs) { ready <- a }})
	}()
	t.Cleanup(func() { stop(); <-done })
	select {
	case a := <-ready:
		return &gateway{url: "http://" + a.Admin, extProc: a.ExtProc}
	case err := <-done:
		t.Fatalf("keygate serve: %v", err)
	}
	return nil
}

// api calls the admin API directly (setup and checks), failing on a non-2xx answer.
func (g *gateway) api(t *testing.T, token, method, path, body string) map[string]any {
	t.Helper()
	req, err := http.NewRequest(method, g.url+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		t.Fatalf("%s %s: %d: %s", method, path, resp.StatusCode, b)
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("%s %s: %v: %s", method, path, err, b)
	}
	return out
}

// leakForms are the secret values in the forms a page could show them: as written, base64,
// hex and the SHA-256 hex some schemes sign with.
func leakForms() map[string]string {
	out := map[string]string{}
	for name, v := range secretValues {
		out[name] = v
		out[name+" (base64)"] = base64.StdEncoding.EncodeToString([]byte(v))
		out[name+" (hex)"] = hex.EncodeToString([]byte(v))
		sum := sha256.Sum256([]byte(v))
		out[name+" (sha256)"] = hex.EncodeToString(sum[:])
	}
	return out
}

// leaked names the secret form found in s, or "".
func leaked(s string) string {
	low := strings.ToLower(s)
	for name, v := range leakForms() {
		if strings.Contains(low, strings.ToLower(v)) {
			return name
		}
	}
	return ""
}

func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// status sends a request and returns its status only (for refusals).
func (g *gateway) status(t *testing.T, token, method, path, body string) int {
	t.Helper()
	req, err := http.NewRequest(method, g.url+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	return resp.StatusCode
}
