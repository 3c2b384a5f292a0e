package console

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/keygate/keygate/internal/testkit"
)

// idp is an OIDC issuer for the test: discovery, an authorization endpoint that logs
// acme's admin in at once (no page), a token endpoint that checks PKCE, and its keys.
type idp struct {
	t   *testing.T
	srv *httptest.Server
	key testkit.IssuerKey
	mu  sync.Mutex
	// pending logins by code: the PKCE challenge and nonce of the authorization request.
	pending map[string][2]string
	checked bool // a token request proved its PKCE verifier
}

func newIDP(t *testing.T) *idp {
	t.Helper()
	p := &idp{t: t, key: testkit.NewIssuerKey(t, "k1"), pending: map[string][2]string{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]any{"issuer": p.srv.URL, "authorization_endpoint": p.srv.URL + "/authorize",
			"token_endpoint": p.srv.URL + "/token", "jwks_uri": p.srv.URL + "/jwks", "response_types_supported": []string{"code"},
			"subject_types_supported": []string{"public"}, "id_token_signing_alg_values_supported": []string{"ES256"}})
	})
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write(testkit.JWKS(p.key))
	})
	mux.HandleFunc("GET /authorize", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if q.Get("response_type") != "code" || q.Get("client_id") != "keygate-console" || q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" {
			http.Error(w, "bad authorization request: "+q.Encode(), http.StatusBadRequest)
			return
		}
		p.mu.Lock()
		p.pending["code-1"] = [2]string{q.Get("code_challenge"), q.Get("nonce")}
		p.mu.Unlock()
		back, _ := url.Parse(q.Get("redirect_uri"))
		back.RawQuery = url.Values{"code": {"code-1"}, "state": {q.Get("state")}}.Encode()
		http.Redirect(w, r, back.String(), http.StatusFound)
	})
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		p.mu.Lock()
		want, ok := p.pending[r.PostForm.Get("code")]
		delete(p.pending, r.PostForm.Get("code"))
		p.mu.Unlock()
		sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
		if !ok || base64.RawURLEncoding.EncodeToString(sum[:]) != want[0] {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"error":"invalid_grant"}`))
			return
		}
		p.mu.Lock()
		p.checked = true
		p.mu.Unlock()
		_ = json.NewEncoder(w).Encode(map[string]string{"token_type": "Bearer", "access_token": "opaque",
			"id_token": p.mint(map[string]any{"nonce": want[1], "keygate_role": "tenant_admin", "keygate_tenant": "acme", "sub": "alice"})})
	})
	p.srv = httptest.NewServer(mux)
	t.Cleanup(p.srv.Close)
	return p
}

func (p *idp) mint(claims map[string]any) string {
	claims["iss"], claims["aud"], claims["exp"], claims["iat"] = p.srv.URL, "keygate-console", time.Now().Add(time.Hour).Unix(), time.Now().Unix()
	return p.key.Mint(p.t, claims)
}

// TestOIDCLoginByRedirect: the login page offers the issuer; the browser goes there and back
// with a code, keygate exchanges it (PKCE checked by the issuer) and the console is logged in
// as the ID token's role and tenant; the code is gone from the address bar and the token is
// in sessionStorage only.
func TestOIDCLoginByRedirect(t *testing.T) {
	p := newIDP(t)
	g := startGatewayEdited(t, "", func(cfg string) string {
		return strings.Replace(cfg, "admin:\n", "admin:\n  jwt: {issuer: \""+p.srv.URL+"\", audience: keygate-console, jwks_url: \""+p.srv.URL+
			"/jwks\", algorithms: [ES256], console: {client_id: keygate-console}}\n", 1)
	})
	browser := newBrowser(t)
	tb := newTab(t, browser, g.url)
	tb.do("log in by redirect", chromedp.Navigate(g.url+"/ui/"), chromedp.WaitVisible(chromedp.ID("oidc-start")),
		chromedp.Click(chromedp.ID("oidc-start")), chromedp.WaitVisible(chromedp.ID("providers")))
	if who := tb.text("#who"); who != "jwt:alice · tenant_admin · tenant acme" {
		t.Fatalf("logged in as %q", who)
	}
	p.mu.Lock()
	checked := p.checked
	p.mu.Unlock()
	if !checked {
		t.Fatal("the issuer never checked a PKCE verifier")
	}
	got, err := chromedp.Run(tb.ctx, chromedp.Evaluate[string](`location.href + '|' + document.cookie + '|' + JSON.stringify(localStorage)`))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(got, "code") || strings.Contains(got, "eyJ") {
		t.Fatalf("the code or the token is outside sessionStorage: %q", got)
	}
	tb.page("#/versions", "#versions")
	if strings.Contains(tb.html(), "globex") {
		t.Fatal("the redirect login sees another tenant")
	}
	tb.noProblems()

	// A code that comes back to a tab that did not start the login is refused.
	other := newTab(t, browser, g.url)
	other.do("a forged way back", chromedp.Navigate(g.url+"/ui/?code=code-1&state=forged"), chromedp.WaitVisible(chromedp.CSS(".login .notice")))
	if s := other.text(".login .notice"); !strings.Contains(s, "state mismatch") {
		t.Fatalf("forged callback: %q", s)
	}
}
