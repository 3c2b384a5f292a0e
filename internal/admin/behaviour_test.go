package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/keygate/keygate/internal/audit"
	"github.com/keygate/keygate/internal/failure"
)

func TestIssuedCredentialIsRevealedOnceAndIsolated(t *testing.T) {
	e := newEnv(t)
	status, body := e.do(t, acmeAdminTok, "POST", "/v1/tenants/acme/credentials", `{"id": "ci"}`)
	if status != http.StatusOK {
		t.Fatalf("issue: %d %s", status, body)
	}
	var reply struct {
		AppKey  string `json:"app_key"`
		Version int    `json:"version"`
	}
	if err := json.Unmarshal([]byte(body), &reply); err != nil || !strings.HasPrefix(reply.AppKey, "kg_") || reply.Version != 2 {
		t.Fatalf("issue reply has no AppKey or version (version %d)", reply.Version)
	}
	tenant, err := e.running.Authenticate(reply.AppKey, "")
	if err != nil || tenant != "acme" {
		t.Fatalf("the issued AppKey does not authenticate acme: %q %v", tenant, err)
	}
	if err := e.running.Authorize(tenant, "globex"); failure.Status(err) != http.StatusForbidden {
		t.Fatalf("acme's AppKey authorized for globex: %v", err)
	}
	for _, path := range []string{"/v1/config", "/v1/config/versions/2", "/v1/config/diff?from=1&to=2", "/v1/audit"} {
		_, b := e.do(t, rootToken, "GET", path, "")
		if leaks(b, reply.AppKey) != "" {
			t.Fatalf("%s shows the AppKey after its one reveal", path)
		}
	}
	var lines bytes.Buffer
	for _, ev := range e.log.Query(audit.Filter{}) {
		_ = audit.NewJSONLines(&lines).Write(context.Background(), ev)
	}
	if leaks(lines.String(), reply.AppKey) != "" {
		t.Fatal("the audit log contains a secret")
	}
}

func TestTenantViewHidesOtherTenants(t *testing.T) {
	e := newEnv(t)
	for _, path := range []string{"/v1/config", "/v1/config/versions/1"} {
		status, body := e.do(t, acmeDevTok, "GET", path, "")
		if status != http.StatusOK || strings.Contains(body, "globex") || strings.Contains(body, "sha256:1111") {
			t.Fatalf("%s as acme developer shows another tenant or a credential hash: %s", path, body)
		}
		if !strings.Contains(body, "secret/keygate/tenants/acme/pay#value") {
			t.Fatalf("%s does not show acme's secret references", path)
		}
	}
}

func TestTenantAdminApplyNamesProvider(t *testing.T) {
	e := newEnv(t)
	status, body := e.do(t, acmeAdminTok, "POST", "/v1/config", changeProviderOf("", "globex"))
	if status != http.StatusForbidden || !strings.Contains(body, `provider \"globex-pay\" belongs to another tenant`) {
		t.Fatalf("got %d %s", status, body)
	}
	status, body = e.do(t, rootToken, "POST", "/v1/config", strings.Replace(baseConfig, `"https://pay.acme.example"`, `"ftp://x"`, 1))
	if status != http.StatusBadRequest || !strings.Contains(body, "providers[0].upstream.url") {
		t.Fatalf("invalid config: got %d %s", status, body)
	}
	if v, _ := e.configs.Current(); v.Number != 1 {
		t.Fatalf("a refused apply changed the config to version %d", v.Number)
	}
}

// TestSecretRotationAndTenantRollback: a secret write pins the new version in a new config
// version; a tenant admin's rollback restores its own pin and leaves the other tenant's alone.
func TestSecretRotationAndTenantRollback(t *testing.T) {
	e := newEnv(t)
	acmeRef, globexRef := "secret/keygate/tenants/acme/pay#value", "secret/keygate/tenants/globex/pay#value"
	mustOK := func(tok, method, path, body string) string {
		t.Helper()
		status, b := e.do(t, tok, method, path, body)
		if status != http.StatusOK {
			t.Fatalf("%s %s: %d %s", method, path, status, b)
		}
		if leaks(b) != "" {
			t.Fatalf("%s %s reply leaks a secret", method, path)
		}
		return b
	}
	b := mustOK(acmeAdminTok, "PUT", "/v1/tenants/acme/secrets/pay", `{"value": "`+writtenSecret+`", "cas": 1}`)
	if !strings.Contains(b, `"version": 2`) || !strings.Contains(b, `"config_version": 2`) {
		t.Fatalf("secret write reply: %s", b)
	}
	if status, _ := e.do(t, acmeAdminTok, "PUT", "/v1/tenants/acme/secrets/pay", `{"value": "x", "cas": 1}`); status == http.StatusOK {
		t.Fatal("a stale cas was accepted")
	}
	mustOK(globexAdmTok, "PUT", "/v1/tenants/globex/secrets/pay", `{"fields": {"value": "`+writtenSecret+`"}}`)
	cur, _ := e.configs.Current()
	if cur.Number != 3 || cur.SecretVersions[acmeRef] != 2 || cur.SecretVersions[globexRef] != 2 {
		t.Fatalf("after rotations: version %d pins %v", cur.Number, cur.SecretVersions)
	}
	mustOK(acmeAdminTok, "POST", "/v1/config/rollback", `{"version": 1, "message": "undo acme rotation"}`)
	cur, _ = e.configs.Current()
	if cur.SecretVersions[acmeRef] != 1 || cur.SecretVersions[globexRef] != 2 {
		t.Fatalf("tenant rollback pins %v: want acme back at 1, globex still 2", cur.SecretVersions)
	}
	b = mustOK(rootToken, "GET", "/v1/config/diff?from=3&to=4", "")
	if !strings.Contains(b, `"ref": "`+acmeRef+`"`) {
		t.Fatalf("diff does not show the pin change: %s", b)
	}
	mustOK(rootToken, "POST", "/v1/config/rollback", `{"version": 1}`)
	cur, _ = e.configs.Current()
	if cur.SecretVersions[globexRef] != 1 || cur.RollbackOf != 1 {
		t.Fatalf("gateway rollback pins %v", cur.SecretVersions)
	}
	for _, v := range e.kv.values {
		if string(v.Reveal()) != writtenSecret && string(v.Reveal()) != "x" {
			t.Fatal("the secret writer received an unexpected value")
		}
	}
}

func TestAuditRecordsEveryAction(t *testing.T) {
	e := newEnv(t)
	e.do(t, acmeAdminTok, "PUT", "/v1/tenants/acme/secrets/pay", `{"value": "`+writtenSecret+`"}`)
	e.do(t, acmeDevTok, "POST", "/v1/config/rollback", `{"version": 1}`)
	e.do(t, "", "GET", "/v1/config", "")
	events := e.log.Query(audit.Filter{Kind: audit.KindAdmin})
	if len(events) != 3 {
		t.Fatalf("%d events, want 3", len(events))
	}
	w := events[0].(audit.Admin)
	if w.Actor != "acme-admin" || w.Role != "tenant_admin" || w.Tenant != "acme" || w.Action != "secret.write" ||
		w.Target != "secret/keygate/tenants/acme/pay" || w.Version != 2 || w.Outcome != audit.OutcomeOK {
		t.Fatalf("secret write event: %+v", w)
	}
	if d := events[1].(audit.Admin); d.Outcome != audit.OutcomeDenied || d.Status != 403 {
		t.Fatalf("denied rollback event: %+v", d)
	}
	if a := events[2].(audit.Admin); a.Status != 401 || a.Actor != "" {
		t.Fatalf("unauthenticated event: %+v", a)
	}
	// The developer sees acme's events only.
	_, b := e.do(t, acmeDevTok, "GET", "/v1/audit", "")
	if !strings.Contains(b, "secret.write") || leaks(b) != "" {
		t.Fatalf("developer audit read: %s", b)
	}
}

func TestHealthReadyMetrics(t *testing.T) {
	ready := error(nil)
	h := New(Options{Ready: func(context.Context) error { return ready },
		Metrics: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("m 1\n")) })})
	get := func(path string) int {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		return rec.Code
	}
	if get("/healthz") != 200 || get("/readyz") != 200 || get("/metrics") != 200 || get("/v1/nope") != 404 {
		t.Fatal("health endpoints")
	}
	ready = failure.New(failure.Unavailable, "keystore", "vault sealed")
	if get("/readyz") != http.StatusServiceUnavailable || get("/healthz") != 200 {
		t.Fatal("readiness does not follow Ready")
	}
	// The probe is unauthenticated: the reply names the kind of failure, never its detail (a
	// tenant's name, the keystore's address or error).
	body := func() string {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
		return rec.Body.String()
	}
	if b := body(); strings.Contains(b, "vault sealed") || !strings.Contains(b, `"not ready"`) {
		t.Fatalf("readyz: %s", b)
	}
	ready = reasoned{"keystore unreachable", errors.New("keystore (tenant globex): https://vault.globex.internal:8200 sealed")}
	if b := body(); strings.Contains(b, "globex") || !strings.Contains(b, `"keystore unreachable"`) {
		t.Fatalf("readyz: %s", b)
	}
}

// reasoned is a readiness error as app.NotReady makes them: a public reason, a private detail.
type reasoned struct {
	reason string
	err    error
}

func (r reasoned) Error() string           { return r.err.Error() }
func (r reasoned) ReadinessReason() string { return r.reason }

func TestValidateTokens(t *testing.T) {
	hash := "sha256:" + strings.Repeat("ab", 32)
	cases := []struct {
		name string
		tok  Token
		ok   bool
	}{
		{"gateway admin", Token{hash, Principal{Name: "a", Role: RoleGatewayAdmin}}, true},
		{"tenant admin", Token{hash, Principal{Name: "a", Role: RoleTenantAdmin, Tenant: "t"}}, true},
		{"tenant role without tenant", Token{hash, Principal{Name: "a", Role: RoleTenantDeveloper}}, false},
		{"unknown role", Token{hash, Principal{Name: "a", Role: "root"}}, false},
		{"bad hash", Token{"md5:00", Principal{Name: "a", Role: RoleGatewayAdmin}}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if err := ValidateTokens([]Token{c.tok}); (err == nil) != c.ok {
				t.Fatalf("got %v", err)
			}
		})
	}
}

// TestTenantAdminCannotChangeGatewaySections: the admin section mints admin tokens and the
// state section decides where versions and the audit log go; a tenant admin's apply that
// touches either is refused and changes nothing.
func TestTenantAdminCannotChangeGatewaySections(t *testing.T) {
	e := newEnv(t)
	for name, cfg := range map[string]string{
		"admin token": baseConfig + "admin:\n  tokens: [{name: mine, role: gateway_admin, hash: \"sha256:" + strings.Repeat("ab", 32) + "\"}]\n",
		"admin jwt":   baseConfig + "admin:\n  jwt: {issuer: \"https://evil.test\", audience: a, jwks_url: \"https://evil.test/keys\"}\n",
		"state":       baseConfig + "state: {audit_file: /tmp/elsewhere.jsonl}\n",
	} {
		status, body := e.do(t, acmeAdminTok, "POST", "/v1/config", cfg)
		if status != http.StatusForbidden || !strings.Contains(body, "only a gateway admin") {
			t.Errorf("%s: got %d: %s", name, status, body)
		}
	}
	if v, _ := e.configs.Current(); v.Number != 1 {
		t.Fatalf("a refused change made version %d", v.Number)
	}
}

// TestConfigReadShowsTheConfig: GET /v1/config and /v1/config/versions/N carry the config
// itself (YAML for a gateway admin, the tenant's view for a tenant role), and a tenant role
// does not see who changed what in other tenants.
func TestConfigReadShowsTheConfig(t *testing.T) {
	e := newEnv(t)
	for _, path := range []string{"/v1/config", "/v1/config/versions/1"} {
		if _, body := e.do(t, rootToken, "GET", path, ""); !strings.Contains(body, `"yaml": "tenants:`) || !strings.Contains(body, `"globex-pay"`) {
			t.Errorf("gateway admin %s has no yaml or config: %s", path, body)
		}
		_, body := e.do(t, acmeDevTok, "GET", path, "")
		if !strings.Contains(body, `"acme-pay"`) || strings.Contains(body, "globex") || strings.Contains(body, `"yaml"`) {
			t.Errorf("tenant developer %s: want acme's view only: %s", path, body)
		}
	}
	_, body := e.do(t, acmeDevTok, "GET", "/v1/config/versions", "")
	if strings.Contains(body, `"setup"`) || strings.Contains(body, `"base"`) { // newEnv's author and message
		t.Errorf("a tenant role sees authors and messages of every change: %s", body)
	}
}
