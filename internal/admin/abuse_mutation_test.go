package admin

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keygate/keygate/internal/audit"
	"github.com/keygate/keygate/internal/secret"
	"github.com/keygate/keygate/internal/versions"
)

// loginFrom sends a request with a wrong token from addr (host:port) straight to the handler.
func loginFrom(e *testEnv, addr string) int {
	req := httptest.NewRequest("GET", "/v1/whoami", nil)
	req.RemoteAddr = addr
	req.Header.Set("Authorization", "Bearer wrong-token")
	rec := httptest.NewRecorder()
	e.srv.Config.Handler.ServeHTTP(rec, req)
	return rec.Code
}

// TestFailedLoginsCountPerAddressNotPerConnection: a token guesser that opens a new connection
// (a new source port) for every try is limited like one that reuses a connection; another
// address's failed login neither shares nor resets its count.
func TestFailedLoginsCountPerAddressNotPerConnection(t *testing.T) {
	e := newEnv(t)
	last := 0
	for i := range 40 {
		last = loginFrom(e, "10.0.0.1:"+strconv.Itoa(20000+i))
	}
	if last != http.StatusTooManyRequests {
		t.Fatalf("40 failed logins from one address, each from a new port: the last got %d, want 429", last)
	}
	if st := loginFrom(e, "10.0.0.2:20000"); st != http.StatusUnauthorized {
		t.Fatalf("another address's first failed login: %d, want 401", st)
	}
	if st := loginFrom(e, "10.0.0.1:30000"); st != http.StatusTooManyRequests {
		t.Fatalf("the blocked address after another address failed a login: %d, want still 429", st)
	}
}

// TestSkippedAnonymousEventsAreCounted: when a token-less flood is not recorded in full, the
// next recorded event says how many were skipped.
func TestSkippedAnonymousEventsAreCounted(t *testing.T) {
	e := newEnv(t)
	for i := range 400 {
		req := httptest.NewRequest("GET", "/v1/whoami", nil)
		req.RemoteAddr = "10.1." + strconv.Itoa(i/250) + "." + strconv.Itoa(i%250) + ":1"
		e.srv.Config.Handler.ServeHTTP(httptest.NewRecorder(), req)
	}
	time.Sleep(100 * time.Millisecond) // the anonymous audit budget refills (20 a second): the next one is recorded
	req := httptest.NewRequest("GET", "/v1/whoami", nil)
	req.RemoteAddr = "10.2.0.1:1"
	e.srv.Config.Handler.ServeHTTP(httptest.NewRecorder(), req)
	noted := false
	for _, ev := range e.log.Query(audit.Filter{}) {
		if a, ok := ev.(audit.Admin); ok && a.Actor == "" {
			noted = noted || strings.Contains(a.Error, "more unauthenticated requests were not recorded")
		}
	}
	if !noted {
		t.Fatal("401 unauthenticated requests: no recorded event says how many were not recorded")
	}
}

// TestTenantChangesAreRecordedAsTheTenants: a tenant admin's change is stored as that tenant's
// (retention keeps each tenant's newest versions apart); a gateway admin's as no tenant's.
func TestTenantChangesAreRecordedAsTheTenants(t *testing.T) {
	e := newEnv(t)
	body := `[{name: acme-pay, hosts: [acme-pay.egress.local], upstream: {url: "https://pay2.acme.example"}, secrets: {app_secret: "secret/keygate/tenants/acme/pay#value"}}]`
	if st, reply := e.do(t, acmeAdminTok, "PUT", "/v1/tenants/acme/providers", body); st != http.StatusOK {
		t.Fatalf("replace: %d %s", st, reply)
	}
	if st, reply := e.do(t, rootToken, "PUT", "/v1/tenants/globex/providers", strings.ReplaceAll(body, "acme", "globex")); st != http.StatusOK {
		t.Fatalf("replace: %d %s", st, reply)
	}
	for n, want := range map[int]string{2: "acme", 3: ""} {
		if v, err := e.configs.Get(t.Context(), n); err != nil || v.Tenant != want {
			t.Fatalf("version %d: tenant %q (err %v), want %q", n, v.Tenant, err, want)
		}
	}
}

// alwaysStale is a config store where another writer always got there first.
type alwaysStale struct {
	Configs
	commits atomic.Int64
}

func (s *alwaysStale) Commit(context.Context, versions.Change) (versions.Version, error) {
	if s.commits.Add(1) > 10 {
		return versions.Version{}, errors.New("gave up: the admin API kept retrying")
	}
	return versions.Version{}, versions.ErrStale
}

// TestRebaseIsBounded: a change that keeps finding a newer version is rebuilt and retried a
// bounded number of times (5), then refused as stale (409), not retried forever.
func TestRebaseIsBounded(t *testing.T) {
	e := newEnv(t)
	store := &alwaysStale{Configs: e.configs}
	h := New(Options{Tokens: []Token{{Hash: HashToken(secret.FromString(rootToken)), Principal: Principal{Name: "root", Role: RoleGatewayAdmin}}},
		Configs: store, AuditLog: audit.NewMemory(0), Audit: audit.NewMemory(0)})
	req := httptest.NewRequest("POST", "/v1/tenants/globex/credentials", nil)
	req.Header.Set("Authorization", "Bearer "+rootToken)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusConflict || store.commits.Load() != 5 {
		t.Fatalf("a change always stale: %d after %d commits, want 409 after 5", rec.Code, store.commits.Load())
	}
}

// TestJWKSIsFetchedWithTheConfiguredClient: the JWKS URL is fetched with the HTTP client the
// configuration gives (here the only one that trusts the issuer's TLS certificate), not a
// default one.
func TestJWKSIsFetchedWithTheConfiguredClient(t *testing.T) {
	k := newIssuerKey(t, "k1")
	jwks := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(jwksOf(k)) }))
	defer jwks.Close()
	v, err := NewJWTVerifier(JWTConfig{Issuer: testIssuer, Audience: testAudience, JWKSURL: jwks.URL,
		Algorithms: []string{"ES256"}, HTTPClient: jwks.Client()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(t.Context(), mint(t, k, roleClaims("gateway_admin", ""))); err != nil {
		t.Fatalf("a token of the issuer whose JWKS is served over TLS the configured client trusts: %v", err)
	}
}

// TestTrackedAddressesAreBoundedAt4096: failed logins are tracked for at most 4096 addresses;
// the next new address starts the counts afresh (bounded memory), so a blocked address is
// unblocked then and not before.
func TestTrackedAddressesAreBoundedAt4096(t *testing.T) {
	e := newEnv(t)
	for i := range 4095 { // 4096 addresses tracked with 10.0.0.1
		loginFrom(e, "10.3."+strconv.Itoa(i/250)+"."+strconv.Itoa(i%250)+":1")
	}
	// 10.0.0.1 fails last, just before the checks: its limiter refills at 5 a second, so a block
	// made before the 4095 other logins (seconds under -race on a busy machine) could lapse.
	for i := range 40 {
		loginFrom(e, "10.0.0.1:"+strconv.Itoa(20000+i))
	}
	if st := loginFrom(e, "10.0.0.1:1"); st != http.StatusTooManyRequests {
		t.Fatalf("the blocked address with 4096 addresses tracked: %d, want 429", st)
	}
	loginFrom(e, "10.4.0.1:1") // the 4097th
	if st := loginFrom(e, "10.0.0.1:2"); st != http.StatusUnauthorized {
		t.Fatalf("the blocked address after the 4097th address: %d, want 401 (counts started afresh)", st)
	}
}

// TestJWTLifetimeBoundIncludesTheClockSkew: with max_lifetime 1h, a token that expires exactly
// 1h plus the one-minute clock skew from now is accepted, one a second later refused.
func TestJWTLifetimeBoundIncludesTheClockSkew(t *testing.T) {
	k := theIssuerKey(t)
	now := time.Now().Truncate(time.Second)
	v, err := NewJWTVerifier(JWTConfig{Issuer: testIssuer, Audience: testAudience, JWKS: jwksOf(k),
		Algorithms: []string{"ES256"}, MaxLifetime: time.Hour, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		exp time.Duration
		ok  bool
	}{{time.Hour + time.Minute, true}, {time.Hour + time.Minute + time.Second, false}} {
		claims := roleClaims("gateway_admin", "")
		claims["exp"] = now.Add(c.exp).Unix()
		_, err := v.Verify(t.Context(), mint(t, k, claims))
		if (err == nil) != c.ok {
			t.Errorf("a token valid for %v more (max_lifetime 1h, skew 1m): err %v, want accepted %v", c.exp, err, c.ok)
		}
	}
}

// brokenKV fails every write the way a backend that is down does: an untyped error (500).
type brokenKV struct{}

func (brokenKV) Put(context.Context, string, string, map[string]secret.Value, int) (int, error) {
	return 0, errors.New("backend down")
}

// TestServerErrorIsAuditedAsAnError: a request that fails for a server error (500) is audited
// with outcome "error", not "denied" (which is for refusals, below 500).
func TestServerErrorIsAuditedAsAnError(t *testing.T) {
	e := newEnv(t)
	log := audit.NewMemory(0)
	h := New(Options{Tokens: []Token{{Hash: HashToken(secret.FromString(rootToken)), Principal: Principal{Name: "root", Role: RoleGatewayAdmin}}},
		Configs: e.configs, Secrets: brokenKV{}, AuditLog: log, Audit: log})
	req := httptest.NewRequest("PUT", "/v1/tenants/acme/secrets/pay", strings.NewReader(`{"value": "`+writtenSecret+`"}`))
	req.Header.Set("Authorization", "Bearer "+rootToken)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusInternalServerError {
		t.Fatalf("a write to a broken backend: %d, want 500", rec.Code)
	}
	for _, ev := range log.Query(audit.Filter{}) {
		if a, ok := ev.(audit.Admin); ok && a.Action == "secret.write" {
			if a.Outcome != audit.OutcomeError {
				t.Fatalf("a 500 audited with outcome %q, want %q", a.Outcome, audit.OutcomeError)
			}
			return
		}
	}
	t.Fatal("no audit event for the failed write")
}

// failingSink is an audit sink that cannot write (a full disk).
type failingSink struct{}

func (failingSink) Write(context.Context, audit.Event) error { return errors.New("disk full") }

// TestAuditWriteFailureIsLogged: an audit event that cannot be written is logged as such; one
// that was written is not.
func TestAuditWriteFailureIsLogged(t *testing.T) {
	e := newEnv(t)
	for _, c := range []struct {
		sink audit.Sink
		want bool
	}{{audit.NewMemory(0), false}, {failingSink{}, true}} {
		var logs syncLog
		h := New(Options{Tokens: []Token{{Hash: HashToken(secret.FromString(rootToken)), Principal: Principal{Name: "root", Role: RoleGatewayAdmin}}},
			Configs: e.configs, Audit: c.sink, AuditLog: audit.NewMemory(0), Logger: slog.New(slog.NewTextHandler(&logs, nil))})
		req := httptest.NewRequest("GET", "/v1/whoami", nil)
		req.Header.Set("Authorization", "Bearer "+rootToken)
		h.ServeHTTP(httptest.NewRecorder(), req)
		if got := strings.Contains(logs.String(), "audit write failed"); got != c.want {
			t.Errorf("sink %T: \"audit write failed\" logged %v, want %v: %s", c.sink, got, c.want, logs.String())
		}
	}
}

// TestAnAnonymousEventWithNothingSkippedHasNoNote: the skip note appears only when requests
// were skipped: the first token-less request's event says what was wrong and nothing more.
func TestAnAnonymousEventWithNothingSkippedHasNoNote(t *testing.T) {
	e := newEnv(t)
	loginFrom(e, "10.5.0.1:1")
	for _, ev := range e.log.Query(audit.Filter{}) {
		if a, ok := ev.(audit.Admin); ok && a.Actor == "" && strings.Contains(a.Error, "not recorded") {
			t.Fatalf("the first unauthenticated request's event has a skip note: %q", a.Error)
		}
	}
}

type syncLog struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *syncLog) Write(p []byte) (int, error) { l.mu.Lock(); defer l.mu.Unlock(); return l.b.Write(p) }
func (l *syncLog) String() string              { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }
