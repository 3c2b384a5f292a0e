package admin

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// fakeIssuer is an issuer's token endpoint: it answers the code "good" with tokens, and
// records what keygate sent.
type fakeIssuer struct {
	mu      sync.Mutex
	forms   []url.Values
	idToken string
	status  int
}

func (f *fakeIssuer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	f.mu.Lock()
	f.forms = append(f.forms, r.PostForm)
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if r.PostForm.Get("code") != "good" || f.status != 0 {
		w.WriteHeader(max(f.status, http.StatusBadRequest))
		_, _ = w.Write([]byte(`{"error":"invalid_grant","error_description":"` + rootToken + `"}`))
		return
	}
	_ = json.NewEncoder(w).Encode(map[string]string{"id_token": f.idToken, "access_token": "opaque-access-token", "token_type": "Bearer"})
}

// oidcEnv is the API with the console's login by redirect against a fake token endpoint.
func oidcEnv(t *testing.T, idp *fakeIssuer) (*testEnv, *httptest.Server) {
	t.Helper()
	e := newEnv(t)
	tokenEP := httptest.NewServer(idp)
	t.Cleanup(tokenEP.Close)
	jwt, err := NewJWTVerifier(JWTConfig{Issuer: testIssuer, Audience: testAudience, JWKS: jwksOf(theIssuerKey(t))})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(New(Options{JWT: jwt, Configs: e.configs, Audit: e.log, AuditLog: e.log,
		OIDCLogin: &OIDCLogin{Issuer: testIssuer, ClientID: "keygate-console",
			AuthorizationURL: "https://login.example.test/authorize", TokenURL: tokenEP.URL}}))
	t.Cleanup(srv.Close)
	e.srv = srv
	return e, srv
}

const verifier = "v3rifier-0123456789-0123456789-0123456789-abc"

func exchangeBody(srv *httptest.Server, code, nonce string) string {
	b, _ := json.Marshal(map[string]string{"code": code, "code_verifier": verifier, "redirect_uri": srv.URL + "/ui/", "nonce": nonce})
	return string(b)
}

// TestOIDCLogin: the console's configuration is public; a good code is exchanged (with the
// PKCE verifier, the client ID and this console's redirect URI) for the ID token, which then
// logs in as its claims say; the login is audited without the token.
func TestOIDCLogin(t *testing.T) {
	idp := &fakeIssuer{idToken: mint(t, theIssuerKey(t), map[string]any{"keygate_role": "tenant_developer", "keygate_tenant": "acme", "nonce": "n-1"})}
	e, srv := oidcEnv(t, idp)
	status, body := e.do(t, "", "GET", "/v1/login/oidc", "")
	if status != ok || !strings.Contains(body, `"authorization_endpoint": "https://login.example.test/authorize"`) || !strings.Contains(body, `"client_id": "keygate-console"`) {
		t.Fatalf("config: %d %s", status, body)
	}
	status, body = e.do(t, "", "POST", "/v1/login/oidc/token", exchangeBody(srv, "good", "n-1"))
	var got struct {
		Token     string
		Principal Principal
	}
	if err := json.Unmarshal([]byte(body), &got); err != nil || status != ok || got.Token != idp.idToken || got.Principal.Tenant != "acme" {
		t.Fatalf("exchange: %d %s", status, body)
	}
	f := idp.forms[0]
	if f.Get("grant_type") != "authorization_code" || f.Get("code_verifier") != verifier || f.Get("client_id") != "keygate-console" || f.Get("redirect_uri") != srv.URL+"/ui/" {
		t.Fatalf("keygate sent %v", f)
	}
	if status, body := e.do(t, got.Token, "GET", "/v1/whoami", ""); status != ok || !strings.Contains(body, "tenant_developer") {
		t.Fatalf("the token does not log in: %d %s", status, body)
	}
	ev := jsonOf(t, e.log.Query(auditAll))
	if !strings.Contains(ev, `"action":"login.oidc"`) || strings.Contains(ev, got.Token) || strings.Contains(ev, verifier) {
		t.Fatalf("audit %s", ev)
	}
}

// TestOIDCLoginRefusals: a refused code (the issuer's error code only, never its description),
// a nonce of another login, a redirect URI elsewhere, a missing verifier, and a token the
// API's verifier refuses (wrong audience, no role) all fail without a token; failures count
// as failed logins.
func TestOIDCLoginRefusals(t *testing.T) {
	k := theIssuerKey(t)
	for _, c := range []struct {
		name, idToken, body string
		status              int
	}{
		{"refused code", "", "bad-code", http.StatusUnauthorized},
		{"nonce of another login", mint(t, k, map[string]any{"keygate_role": "gateway_admin", "nonce": "other"}), "", http.StatusUnauthorized},
		{"wrong audience", mint(t, k, map[string]any{"keygate_role": "gateway_admin", "aud": "someone-else", "nonce": "n-1"}), "", http.StatusUnauthorized},
		{"no role", mint(t, k, map[string]any{"nonce": "n-1"}), "", http.StatusUnauthorized},
		{"redirect elsewhere", "", `{"code": "good", "code_verifier": "` + verifier + `", "redirect_uri": "https://evil.example/ui/"}`, http.StatusBadRequest},
		{"no verifier", "", `{"code": "good", "redirect_uri": "REDIRECT"}`, http.StatusBadRequest},
		{"unknown field", "", `{"code": "good", "code_verifier": "` + verifier + `", "redirect_uri": "REDIRECT", "client_secret": "x"}`, http.StatusBadRequest},
	} {
		t.Run(c.name, func(t *testing.T) {
			idp := &fakeIssuer{idToken: c.idToken}
			e, srv := oidcEnv(t, idp)
			body := exchangeBody(srv, "good", "n-1")
			switch {
			case c.body == "bad-code":
				body = exchangeBody(srv, "bad", "n-1")
			case c.body != "":
				body = strings.ReplaceAll(c.body, "REDIRECT", srv.URL+"/ui/")
			}
			status, reply := e.do(t, "", "POST", "/v1/login/oidc/token", body)
			if status != c.status || strings.Contains(reply, "eyJ") || strings.Contains(reply, `"token"`) {
				t.Fatalf("%d %s", status, reply)
			}
			if l := leaks(reply + jsonOf(t, e.log.Query(auditAll))); l != "" {
				t.Fatalf("the reply or the audit log holds %s", l)
			}
		})
	}
}

// TestOIDCLoginNotConfigured: without admin.jwt.console the exchange does not exist and the
// login page's question is answered "not enabled".
func TestOIDCLoginNotConfigured(t *testing.T) {
	e := newEnv(t)
	for _, m := range []string{"GET", "POST"} {
		if status, _ := e.do(t, "", m, "/v1/login/oidc/token", "{}"); status != http.StatusNotFound && status != http.StatusMethodNotAllowed {
			t.Fatalf("%s answered %d", m, status)
		}
	}
	if status, body := e.do(t, "", "GET", "/v1/login/oidc", ""); status != ok || !strings.Contains(body, `"enabled": false`) {
		t.Fatalf("config answered %d %s", status, body)
	}
}

func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestOIDCDiscoveryIsNotHammered: the login page's configuration is public, so an issuer whose
// discovery fails is asked again only after a pause, however many requests keygate gets.
func TestOIDCDiscoveryIsNotHammered(t *testing.T) {
	var mu sync.Mutex
	hits := 0
	issuer := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		mu.Lock()
		hits++
		mu.Unlock()
		http.Error(w, "down", http.StatusInternalServerError)
	}))
	defer issuer.Close()
	e := newEnv(t)
	jwt, err := NewJWTVerifier(JWTConfig{Issuer: issuer.URL, Audience: testAudience, JWKS: jwksOf(theIssuerKey(t))})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(New(Options{JWT: jwt, Configs: e.configs, OIDCLogin: &OIDCLogin{Issuer: issuer.URL, ClientID: "c"}}))
	defer srv.Close()
	e.srv = srv
	for range 5 {
		if status, body := e.do(t, "", "GET", "/v1/login/oidc", ""); status != http.StatusServiceUnavailable {
			t.Fatalf("%d %s", status, body)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if hits != 1 {
		t.Fatalf("the issuer was asked %d times, want 1", hits)
	}
}
