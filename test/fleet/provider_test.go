package fleet

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// issuer is an OAuth2 client-credentials token endpoint that behaves like the providers fleet
// sharing exists for: issuing a token revokes every token issued before it, so replicas that
// each fetched their own token would keep breaking each other.
type issuer struct {
	srv          *httptest.Server
	clientID     string
	clientSecret string
	ttl          atomic.Int64 // lifetime of the next token, in seconds
	calls        atomic.Int64

	mu      sync.Mutex
	issued  map[string]bool // every token ever issued (known to the provider)
	current string          // the only token the provider accepts; "" after revokeAll
	expiry  time.Time
}

func newIssuer(t *testing.T, clientID, clientSecret string) *issuer {
	is := &issuer{clientID: clientID, clientSecret: clientSecret, issued: map[string]bool{}}
	is.ttl.Store(600)
	is.srv = httptest.NewServer(http.HandlerFunc(is.serve))
	t.Cleanup(is.srv.Close)
	return is
}

func (is *issuer) URL() string { return is.srv.URL + "/oauth2/token" }

func (is *issuer) serve(w http.ResponseWriter, r *http.Request) {
	is.calls.Add(1)
	_ = r.ParseForm()
	id, pass, _ := r.BasicAuth()
	if r.Method != http.MethodPost || r.PostForm.Get("grant_type") != "client_credentials" ||
		subtle.ConstantTimeCompare([]byte(id), []byte(is.clientID)) != 1 ||
		subtle.ConstantTimeCompare([]byte(pass), []byte(is.clientSecret)) != 1 {
		http.Error(w, `{"error":"invalid_client"}`, http.StatusUnauthorized)
		return
	}
	ttl := time.Duration(is.ttl.Load()) * time.Second
	tok, _ := is.mint(ttl)
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, `{"access_token":"`+tok+`","token_type":"Bearer","expires_in":`+
		strconv.FormatInt(int64(ttl/time.Second), 10)+`}`)
}

// mint issues a token living ttl (negative: already expired) and revokes all earlier ones.
func (is *issuer) mint(ttl time.Duration) (string, time.Time) {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	tok := "fleet-tok-" + hex.EncodeToString(b)
	is.mu.Lock()
	defer is.mu.Unlock()
	is.issued[tok] = true
	is.current, is.expiry = tok, time.Now().Add(ttl)
	return tok, is.expiry
}

// revokeAll invalidates every issued token, as a provider rotating its credentials would.
func (is *issuer) revokeAll() {
	is.mu.Lock()
	defer is.mu.Unlock()
	is.current = ""
}

// check reports whether tok was ever issued, and whether it is the current unexpired token.
func (is *issuer) check(tok string) (known, valid bool) {
	is.mu.Lock()
	defer is.mu.Unlock()
	known = is.issued[tok]
	valid = is.current != "" && subtle.ConstantTimeCompare([]byte(tok), []byte(is.current)) == 1 &&
		time.Now().Before(is.expiry)
	return known, valid
}

// isCurrent reports whether tok is the token the provider accepts now.
func (is *issuer) isCurrent(tok string) bool {
	_, valid := is.check(tok)
	return valid
}

// upstream is the provider's API: it accepts only the current token (401 otherwise) and counts
// what it saw. A request with no token or a token nobody issued would be unsigned: a leak.
type upstream struct {
	srv *httptest.Server
	is  *issuer

	accepted, rejected, unsigned atomic.Int64
}

func newUpstream(t *testing.T, is *issuer) *upstream {
	u := &upstream{is: is}
	u.srv = httptest.NewServer(http.HandlerFunc(u.serve))
	t.Cleanup(u.srv.Close)
	return u
}

func (u *upstream) URL() string { return u.srv.URL }

func (u *upstream) serve(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, 1<<20))
	auth := r.Header.Get("Authorization")
	known, valid := false, false
	if tok, ok := strings.CutPrefix(auth, "Bearer "); ok {
		known, valid = u.is.check(tok)
	}
	w.Header().Set("Content-Type", "application/json")
	switch {
	case valid:
		u.accepted.Add(1)
		_, _ = io.WriteString(w, `{"ok":true}`)
	case known:
		u.rejected.Add(1)
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = io.WriteString(w, `{"error":"invalid_token"}`)
	default:
		u.unsigned.Add(1)
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = io.WriteString(w, `{"error":"missing_token"}`)
	}
}
