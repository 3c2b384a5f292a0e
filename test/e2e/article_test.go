package e2e

import (
	"encoding/json"
	"testing"

	"github.com/keygate/keygate/internal/devstack"
)

// TestArticleScriptTwoStep runs the design article's two JavaScript functions, unmodified, as
// the demo-script provider of `keygate dev`: the first request fetches a token (two-step
// verification) and signs; later ones reuse the cached token; when the provider expires it and
// answers 401, keygate drops the token and retries once with a fresh one.
func TestArticleScriptTwoStep(t *testing.T) {
	s := startStack(t, devstack.Options{})
	send := func() (int, string) {
		status, _, body := call(t, s, "POST", "demo-script.egress.local", "/orders",
			`{"data":"{\"amount\":7}","timestamp":"1700000000"}`, nil)
		return status, body
	}
	for i := range 3 {
		status, body := send()
		if status != 200 {
			t.Fatalf("request %d: status %d: %s", i, status, body)
		}
		// The article's response function writes the decrypted text back as a string.
		var outer struct {
			Data string `json:"data"`
		}
		var got struct {
			Path     string `json:"path"`
			Received string `json:"received"`
		}
		if json.Unmarshal([]byte(body), &outer) != nil || json.Unmarshal([]byte(outer.Data), &got) != nil {
			t.Fatalf("request %d: response data was not decrypted: %s", i, body)
		}
		if got.Path != "/v1/secure/orders" || got.Received != `{"amount":7}` {
			t.Fatalf("request %d: provider saw %+v", i, got)
		}
	}
	if n := s.Provider.Stats.TokensIssued.Load(); n != 1 {
		t.Fatalf("token endpoint called %d times for 3 requests, want 1 (cached)", n)
	}

	// The provider expires the token and answers 401: keygate drops the token, fetches a new
	// one, re-signs and retries once, so the caller gets the provider's real answer.
	s.Provider.ExpireTokens()
	if status, body := send(); status != 200 {
		t.Fatalf("with an expired token: status %d, want 200 after keygate's one retry: %s", status, body)
	}
	if n := s.Provider.Stats.Unauthorized.Load(); n != 1 {
		t.Errorf("provider answered 401 %d times, want exactly 1 (one retry)", n)
	}
	if n := s.Provider.Stats.TokensIssued.Load(); n != 2 {
		t.Errorf("token endpoint called %d times, want 2", n)
	}
	if status, _ := send(); status != 200 || s.Provider.Stats.TokensIssued.Load() != 2 {
		t.Errorf("the new token must be cached: status %d, %d tokens", status, s.Provider.Stats.TokensIssued.Load())
	}
}

// TestArticleScriptFetchesOneTokenUnderConcurrency: the article's script fetches its token
// itself (token_load, http_post_json, token_save). Concurrent first requests must not each fetch
// one: many providers revoke earlier tokens when they issue a new one.
func TestArticleScriptFetchesOneTokenUnderConcurrency(t *testing.T) {
	s := startStack(t, devstack.Options{})
	const n = 20
	type answer struct {
		status int
		body   string
	}
	answers := make(chan answer, n)
	for range n {
		go func() {
			status, body := post(s, "demo-script.egress.local", "/orders", `{"data":"{\"amount\":1}","timestamp":"1700000000"}`)
			answers <- answer{status, body}
		}()
	}
	for range n {
		if a := <-answers; a.status != 200 {
			t.Errorf("status %d: %s", a.status, a.body)
		}
	}
	if got := s.Provider.Stats.TokensIssued.Load(); got != 1 {
		t.Errorf("%d concurrent first requests fetched %d tokens, want 1", n, got)
	}
}
