package faults

import (
	"bytes"
	"crypto/subtle"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// upstream is a provider that verifies every request it receives and counts leaks: a request
// without the credential keygate must add (or with a credential nobody issued), or whose body
// still holds a plaintext marker that keygate must have encrypted. The suite's claim is that this
// count stays 0 under every fault.
type upstream struct {
	srv        *httptest.Server
	credential func(*http.Request) credential // what the request carries
	plaintext  []string                       // must never appear in a body
	delay      time.Duration
	// guards names what a leak at this upstream is: "" an unsigned or plaintext request,
	// guardCallback a callback that failed verification reached the service,
	// guardPlaceholder a request a service signed with a real credential was re-signed.
	guards string

	reached, leaks, rejected atomic.Int64
}

// credential is what an upstream found on a request: known means keygate put a credential the
// provider (or its token endpoint) issued; valid means it is still accepted.
type credential struct{ known, valid bool }

func newUpstream(t *testing.T, u *upstream) *upstream {
	u.srv = httptest.NewServer(http.HandlerFunc(u.serve))
	t.Cleanup(u.srv.Close)
	return u
}

func (u *upstream) URL() string { return u.srv.URL }

func (u *upstream) serve(w http.ResponseWriter, r *http.Request) {
	u.reached.Add(1)
	body, _ := io.ReadAll(io.LimitReader(r.Body, 8<<20))
	leak := false
	for _, p := range u.plaintext {
		if bytes.Contains(body, []byte(p)) {
			leak = true
		}
	}
	r.Body = io.NopCloser(bytes.NewReader(body)) // the credential check may read it again
	c := u.credential(r)
	status := http.StatusOK
	switch {
	case !c.known:
		leak = true
	case !c.valid: // issued, then revoked: signed, but the provider says no
		u.rejected.Add(1)
		status = http.StatusUnauthorized
	}
	if leak {
		u.leaks.Add(1)
		status = http.StatusUnauthorized
	}
	if u.delay > 0 {
		select {
		case <-time.After(u.delay):
		case <-r.Context().Done():
			return
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(`{"ok":true}`))
}

const (
	guardCallback    = "callback"
	guardPlaceholder = "placeholder"
)

func constantEqual(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

// issuer is an OAuth2 token endpoint whose behaviour a fault switches.
type issuer struct {
	srv          *httptest.Server
	clientSecret string
	mode         atomic.Value // string: ok | 500 | timeout | empty200 | garbage | 401
	calls        atomic.Int64

	mu     sync.Mutex
	tokens map[string]bool // token -> still valid
}

func newIssuer(t *testing.T, clientSecret string) *issuer {
	is := &issuer{clientSecret: clientSecret, tokens: map[string]bool{}}
	is.mode.Store("ok")
	is.srv = httptest.NewServer(http.HandlerFunc(is.serve))
	t.Cleanup(is.srv.Close)
	return is
}

func (is *issuer) URL() string { return is.srv.URL + "/oauth/token" }

func (is *issuer) serve(w http.ResponseWriter, r *http.Request) {
	is.calls.Add(1)
	_, pass, _ := r.BasicAuth()
	switch is.mode.Load().(string) {
	case "500":
		http.Error(w, `{"error":"server_error"}`, http.StatusInternalServerError)
		return
	case "timeout":
		select {
		case <-time.After(3 * time.Second):
		case <-r.Context().Done():
		}
		return
	case "empty200":
		w.WriteHeader(http.StatusOK)
		return
	case "garbage":
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"access_token": <html>oops`))
		return
	case "401":
		http.Error(w, `{"error":"invalid_client"}`, http.StatusUnauthorized)
		return
	}
	if subtle.ConstantTimeCompare([]byte(pass), []byte(is.clientSecret)) != 1 {
		http.Error(w, `{"error":"invalid_client"}`, http.StatusUnauthorized)
		return
	}
	is.mu.Lock()
	tok := "tok-" + randomText(12)
	is.tokens[tok] = true
	is.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, `{"access_token":"`+tok+`","token_type":"Bearer","expires_in":600}`)
}

// revokeAll makes every issued token invalid, as a provider rotating its tokens would.
func (is *issuer) revokeAll() {
	is.mu.Lock()
	defer is.mu.Unlock()
	for k := range is.tokens {
		is.tokens[k] = false
	}
}

func (is *issuer) check(tok string) (known, valid bool) {
	is.mu.Lock()
	defer is.mu.Unlock()
	valid, known = is.tokens[tok]
	return known, valid
}
