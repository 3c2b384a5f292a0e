package admin

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/keygate/keygate/internal/audit"
	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/internal/secret"
	"github.com/keygate/keygate/internal/tenancy"
	"github.com/keygate/keygate/internal/versions"
	"github.com/keygate/keygate/keystore"
)

// Secret-looking values the tests feed in; no reply or audit event may contain them.
const (
	writtenSecret = "WRITTEN-SECRET-3f9a1c"
	rootToken     = "TOKEN-root-7d2e"
	acmeAdminTok  = "TOKEN-acme-admin-19bc"
	acmeDevTok    = "TOKEN-acme-dev-55aa"
	globexAdmTok  = "TOKEN-globex-admin-0e0e"
)

const baseConfig = `tenants:
  - name: acme
    credentials: [{id: k1, hash: "sha256:1111111111111111111111111111111111111111111111111111111111111111"}]
  - name: globex
    credentials: [{id: k1, hash: "sha256:2222222222222222222222222222222222222222222222222222222222222222"}]
providers:
  - name: acme-pay
    tenant: acme
    hosts: [acme-pay.egress.local]
    upstream: {url: "https://pay.acme.example"}
    secrets: {app_secret: "secret/keygate/tenants/acme/pay#value"}
  - name: globex-pay
    tenant: globex
    hosts: [globex-pay.egress.local]
    upstream: {url: "https://pay.globex.example"}
    secrets: {app_secret: "secret/keygate/tenants/globex/pay#value"}
`

// fakeKV is a SecretWriter and SecretVersions: every write bumps the path's version.
type fakeKV struct {
	mu       sync.Mutex
	versions map[string]int
	values   []secret.Value
}

func (k *fakeKV) Put(_ context.Context, mount, path string, fields map[string]secret.Value, cas int) (int, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	key := mount + "/" + path
	if cas >= 0 && cas != k.versions[key] {
		return 0, keystore.ErrCASMismatch
	}
	k.versions[key]++
	for _, v := range fields {
		k.values = append(k.values, v)
	}
	return k.versions[key], nil
}

func (k *fakeKV) CurrentVersion(_ context.Context, ref keystore.Ref) (int, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.versions[ref.Mount+"/"+ref.Path], nil
}

type fakeDryRun struct{}

func (fakeDryRun) DryRun(_ context.Context, tenant, provider string, raw []byte, opts DryRunOptions) (DryRunResult, error) {
	sig := secret.Redacted
	if opts.Reveal {
		sig = "REVEALED-SIGNATURE"
	}
	res := DryRunResult{Output: []byte(`{"tenant":"` + tenant + `","provider":"` + provider + `","signature":"` + sig + `"}`)}
	if opts.Explain {
		res.Explain = []string{"simple, string to sign:\nsigned-with " + sig}
	}
	if opts.Script != nil {
		res.Notes = append(res.Notes, "ran the unsaved script: "+*opts.Script)
	}
	if opts.Response != nil {
		res.Response = append([]byte("processed "), opts.Response...)
	}
	res.Timings = []StageTiming{{Phase: "request", Stage: "crypto", Micros: 12}}
	return res, nil
}

// fakeScripts is a ScriptChecker: a script holding "syntax" has an error at 2:11; each
// check is recorded, so a test can tell the checker was never reached.
type fakeScripts struct {
	mu     sync.Mutex
	called []string
	// entered and block, when set, hold each check until block is closed (a slow compile).
	entered chan struct{}
	block   chan struct{}
}

func (f *fakeScripts) CheckScript(_ context.Context, provider, text string) error {
	f.mu.Lock()
	f.called = append(f.called, provider)
	f.mu.Unlock()
	if f.block != nil {
		f.entered <- struct{}{}
		<-f.block
	}
	if strings.Contains(text, "syntax") {
		return &ScriptProblem{Line: 2, Column: 11, Message: "Unexpected token ;"}
	}
	return nil
}

// fakeMetrics are one provider of each tenant and one of no tenant.
func fakeMetrics() ([]ProviderMetrics, bool, error) {
	return []ProviderMetrics{
		{Tenant: "acme", Provider: "acme-pay", Requests: 10, Errors: 1, MeanMillis: 0.5, P95Millis: 1},
		{Tenant: "globex", Provider: "globex-pay", Requests: 7},
		{Tenant: "", Provider: "orphan", Requests: 3},
	}, true, nil
}

type testEnv struct {
	srv     *httptest.Server
	configs *versions.Manager
	kv      *fakeKV
	scripts *fakeScripts
	log     *audit.Memory
	running *tenancy.Directory
}

func newEnv(t *testing.T) *testEnv {
	t.Helper()
	return newEnvWith(t, nil)
}

// newEnvWith is newEnv with its Options changed by mod (nil: as they are).
func newEnvWith(t *testing.T, mod func(*Options)) *testEnv {
	t.Helper()
	store, err := versions.OpenDisk(t.TempDir(), 0)
	if err != nil {
		t.Fatal(err)
	}
	e := &testEnv{kv: &fakeKV{versions: map[string]int{"secret/keygate/tenants/acme/pay": 1, "secret/keygate/tenants/globex/pay": 1}},
		log: audit.NewMemory(0), scripts: &fakeScripts{}}
	e.configs = versions.NewManager(versions.Options{Store: store, Secrets: e.kv,
		Compile: func(_ context.Context, f *config.File, _ map[string]int) error {
			d, err := tenancy.Compile(f.Tenants)
			if err == nil {
				e.running = d
			}
			return err
		}})
	if _, err := e.configs.Apply(context.Background(), []byte(baseConfig), "setup", "base"); err != nil {
		t.Fatal(err)
	}
	tok := func(s string, p Principal) Token { return Token{Hash: HashToken(secret.FromString(s)), Principal: p} }
	jwt, err := NewJWTVerifier(JWTConfig{Issuer: testIssuer, Audience: testAudience, JWKS: jwksOf(theIssuerKey(t))})
	if err != nil {
		t.Fatal(err)
	}
	opts := Options{
		JWT: jwt,
		Tokens: []Token{
			tok(rootToken, Principal{Name: "root", Role: RoleGatewayAdmin}),
			tok(acmeAdminTok, Principal{Name: "acme-admin", Role: RoleTenantAdmin, Tenant: "acme"}),
			tok(acmeDevTok, Principal{Name: "acme-dev", Role: RoleTenantDeveloper, Tenant: "acme"}),
			tok(globexAdmTok, Principal{Name: "globex-admin", Role: RoleTenantAdmin, Tenant: "globex"}),
		},
		Configs: e.configs, Secrets: e.kv, DryRun: fakeDryRun{}, Scripts: e.scripts, ProviderMetrics: fakeMetrics,
		Audit: e.log, AuditLog: e.log,
		Metrics: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "# metrics\n") }),
	}
	if mod != nil {
		mod(&opts)
	}
	e.srv = httptest.NewServer(New(opts))
	t.Cleanup(e.srv.Close)
	return e
}

// do sends a request and returns status and body.
func (e *testEnv) do(t *testing.T, token, method, path, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if strings.HasPrefix(body, "{") {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// leaks names the first secret-looking test value found in s, or "".
func leaks(s string, extra ...string) string {
	for _, v := range append([]string{writtenSecret, rootToken, acmeAdminTok, acmeDevTok, globexAdmTok}, extra...) {
		if strings.Contains(s, v) {
			return v[:8] + "..."
		}
	}
	return ""
}

var auditAll = audit.Filter{}
