package admin

import (
	"net"
	"net/http"
	"sync"
	"sync/atomic"

	"golang.org/x/time/rate"

	"github.com/keygate/keygate/internal/failure"
)

// Bounds on what unauthenticated callers can cost the admin plane.
const (
	failedLoginRate   = 5  // failed logins per second per client address, sustained
	failedLoginBurst  = 20 // and in a burst
	maxTrackedClients = 4096
	anonAuditRate     = 20 // unauthenticated requests audited per second; the rest are counted
	anonAuditBurst    = 200
)

// guard (nil: no limits) rate-limits failed logins per client address and the audit and log records of
// unauthenticated requests: a token-guessing client gets 429s, and a token-less flood can
// neither fill the audit log nor the process's log (what it skips is counted and recorded).
type guard struct {
	mu      sync.Mutex
	clients map[string]*rate.Limiter
	anon    *rate.Limiter
	skipped atomic.Int64
}

func newGuard() *guard {
	return &guard{clients: map[string]*rate.Limiter{}, anon: rate.NewLimiter(anonAuditRate, anonAuditBurst)}
}

func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// blocked reports whether the client used up its failed logins.
func (g *guard) blocked(r *http.Request) bool {
	if g == nil {
		return false
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	l := g.clients[clientAddr(r)]
	return l != nil && l.Tokens() < 1
}

// failed records a failed login of the client.
func (g *guard) failed(r *http.Request) {
	if g == nil {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	addr := clientAddr(r)
	l := g.clients[addr]
	if l == nil {
		if len(g.clients) >= maxTrackedClients {
			clear(g.clients) // bounded memory; a flood of addresses only resets the counts
		}
		l = rate.NewLimiter(failedLoginRate, failedLoginBurst)
		g.clients[addr] = l
	}
	l.Allow()
}

// recordAnonymous reports whether an unauthenticated request's audit event and log line are
// written, and how many were skipped before it (to be recorded with it).
func (g *guard) recordAnonymous() (ok bool, skippedBefore int64) {
	if g == nil {
		return true, 0
	}
	if !g.anon.Allow() {
		g.skipped.Add(1)
		return false, 0
	}
	return true, g.skipped.Swap(0)
}

// login authenticates the request's bearer token: a 429 while the client's address is over
// its failed logins, a 401 (counted against the address) for a missing or invalid token.
func (s *server) login(w http.ResponseWriter, r *http.Request) (Principal, error) {
	if s.guard.blocked(r) {
		return Principal{}, errorf(http.StatusTooManyRequests, "too many failed logins from this address; retry later")
	}
	p, ok := s.authenticate(r)
	if !ok {
		s.guard.failed(r)
		w.Header().Set("WWW-Authenticate", `Bearer realm="keygate-admin"`)
		return Principal{}, errorf(http.StatusUnauthorized, "missing or invalid bearer token")
	}
	return p, nil
}

// metricsHandler serves /metrics, behind a gateway admin's token when auth is set.
func (s *server) metricsHandler(h http.Handler, auth func() bool) http.Handler {
	if auth == nil {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !auth() {
			h.ServeHTTP(w, r)
			return
		}
		p, err := s.login(w, r)
		if err == nil && p.Role != RoleGatewayAdmin {
			err = forbidden("only a gateway admin may read /metrics")
		}
		if err != nil {
			status := statusOf(err)
			writeJSON(w, status, failure.BodyOf(err, status))
			return
		}
		h.ServeHTTP(w, r)
	})
}
