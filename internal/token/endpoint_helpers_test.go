package token

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/internal/secret"
)

// Distinctive values: any test output, error or log line containing them is a leak.
const (
	tokenMarker  = "tkSENSITIVE8d1f"
	secretMarker = "csSENSITIVE42aa"
)

// tokenServer is a real token endpoint on loopback whose behaviour a test switches.
type tokenServer struct {
	*httptest.Server
	calls atomic.Int64

	mu    sync.Mutex
	mode  string        // ok | 500 | 503 | slow | empty | garbage | nofield | 401 | html
	ttl   int           // expires_in of issued tokens
	delay time.Duration // before answering (mode ok and slow)
}

func newTokenServer(t *testing.T) *tokenServer {
	s := &tokenServer{mode: "ok", ttl: 120}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

func (s *tokenServer) set(mode string, delay time.Duration) {
	s.mu.Lock()
	s.mode, s.delay = mode, delay
	s.mu.Unlock()
}

// issued is the n-th token the server hands out.
func issued(n int64) string { return fmt.Sprintf("%s-%d", tokenMarker, n) }

func (s *tokenServer) serve(w http.ResponseWriter, r *http.Request) {
	n := s.calls.Add(1)
	s.mu.Lock()
	mode, delay, ttl := s.mode, s.delay, s.ttl
	s.mu.Unlock()
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
	}
	// Failure bodies carry a token-like value: it must never be quoted in an error.
	leaky := `{"error":"server_error","access_token_was":"` + issued(n) + `"}`
	switch mode {
	case "500":
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(500)
		_, _ = w.Write([]byte(leaky))
	case "503":
		w.WriteHeader(503)
	case "401":
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(401)
		_, _ = w.Write([]byte(`{"error":"invalid_client"}`))
	case "empty":
		w.WriteHeader(200)
	case "garbage":
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"access_token":"` + issued(n) + `",`))
	case "html":
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write([]byte("<html>" + issued(n) + "</html>"))
	case "nofield":
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"token":"` + issued(n) + `","expires_in":60}`))
	default: // ok, slow
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"access_token":%q,"token_type":"Bearer","expires_in":%d}`, issued(n), ttl)
	}
}

// mapKeys is a SecretGetter over a map.
type mapKeys map[string]string

func (k mapKeys) Secret(_ context.Context, name string) (secret.Value, error) {
	v, ok := k[name]
	if !ok {
		return secret.Value{}, fmt.Errorf("no secret %q", name)
	}
	return secret.FromString(v), nil
}

// oauth2For compiles a client credentials fetcher against srv.
func oauth2For(t *testing.T, srv *tokenServer, clock func() time.Time) Fetcher {
	t.Helper()
	f, err := CompileFetcher(&config.TokenSource{
		Type: "oauth2_client_credentials", URL: srv.URL + "/token",
		Params: []byte(`{"client_id":"demo","client_secret":"cs"}`),
	}, FetcherDeps{Keys: mapKeys{"cs": secretMarker}, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// fakeClock is a clock tests move by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// eventually polls cond for up to 5s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

// reveal is a token's text for comparisons; tests never print it.
func reveal(v secret.Value) string { return string(v.Reveal()) }

// noLeak fails if s contains a marker, without printing s.
func noLeak(t *testing.T, what, s string) {
	t.Helper()
	if strings.Contains(s, tokenMarker) || strings.Contains(s, secretMarker) {
		t.Errorf("%s contains a secret value", what)
	}
}
