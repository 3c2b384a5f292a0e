package admin

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/keygate/keygate/internal/audit"
	"github.com/keygate/keygate/internal/secret"
)

// TestUnauthenticatedFloodKeepsTenantEvents: 2,000 token-less requests naming tenant globex in
// their URL are attributed to no tenant, mostly not recorded (counted instead), and evict none
// of globex's real events; the client is then refused with 429 before its token is checked.
func TestUnauthenticatedFloodKeepsTenantEvents(t *testing.T) {
	e := newEnv(t)
	if st, _ := e.do(t, globexAdmTok, "DELETE", "/v1/tenants/globex/credentials/k1", ""); st != http.StatusOK {
		t.Fatalf("revoke: %d", st)
	}
	statuses := map[int]int{}
	for range 2000 {
		st, _ := e.do(t, "", "POST", "/v1/tenants/globex/credentials", "")
		statuses[st]++
	}
	if statuses[http.StatusTooManyRequests] == 0 {
		t.Errorf("2000 failed logins from one address were never refused with 429: %v", statuses)
	}
	events := e.log.Query(audit.Filter{Tenant: "globex"})
	found := false
	for _, ev := range events {
		a, ok := ev.(audit.Admin)
		if !ok {
			continue
		}
		if a.Actor == "" {
			t.Fatalf("an unauthenticated event is attributed to tenant globex: %+v", a)
		}
		found = found || a.Action == "credential.revoke"
	}
	if !found {
		t.Fatal("globex's revoke event was evicted by the flood")
	}
	anon := 0
	skippedNoted := false
	for _, ev := range e.log.Query(audit.Filter{}) {
		if a, ok := ev.(audit.Admin); ok && a.Actor == "" {
			anon++
			skippedNoted = skippedNoted || strings.Contains(a.Error, "more unauthenticated requests were not recorded")
		}
	}
	if anon >= 2000 {
		t.Errorf("%d unauthenticated events recorded: not rate-limited", anon)
	}
	t.Logf("statuses %v; %d unauthenticated events recorded (skips noted: %v)", statuses, anon, skippedNoted)
	// A valid token from the same address is refused too while the address is blocked: the
	// limit is per address, before the token is looked at.
	if st, _ := e.do(t, rootToken, "GET", "/v1/whoami", ""); st != http.StatusTooManyRequests {
		t.Errorf("a valid token from the blocked address: %d, want 429", st)
	}
}

// TestMetricsBehindAToken: with MetricsAuth, /metrics answers only a gateway admin's token.
func TestMetricsBehindAToken(t *testing.T) {
	tok := func(s string, p Principal) Token { return Token{Hash: HashToken(secret.FromString(s)), Principal: p} }
	h := New(Options{Tokens: []Token{tok(rootToken, Principal{Name: "root", Role: RoleGatewayAdmin}),
		tok(acmeAdminTok, Principal{Name: "acme-admin", Role: RoleTenantAdmin, Tenant: "acme"})},
		Metrics:     http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("# metrics\n")) }),
		MetricsAuth: func() bool { return true }})
	for _, c := range []struct {
		token string
		want  int
	}{{"", http.StatusUnauthorized}, {acmeAdminTok, http.StatusForbidden}, {rootToken, http.StatusOK}} {
		req := httptest.NewRequest("GET", "/metrics", nil)
		if c.token != "" {
			req.Header.Set("Authorization", "Bearer "+c.token)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != c.want {
			t.Errorf("/metrics with token %q: %d, want %d", c.token[:min(len(c.token), 6)], w.Code, c.want)
		}
	}
}
