package faults

import (
	"net/http"
	"testing"
	"time"
)

// tokenFault: the OAuth2 token endpoint misbehaves on every call. Callers get the documented
// status with stage "token"; nothing reaches the provider; the backoff keeps the endpoint's
// call count far below the request count.
func tokenFault(mode string) func(t *testing.T, e *env, r *record) {
	want := map[string]int{
		"500": http.StatusBadGateway, "timeout": http.StatusGatewayTimeout,
		"empty200": http.StatusBadGateway, "garbage": http.StatusBadGateway, "401": http.StatusBadGateway,
	}[mode]
	return func(t *testing.T, e *env, r *record) {
		is := newIssuer(t, e.s.ClientSecret)
		is.mode.Store(mode)
		up := r.watch(verifyingUpstream(t, e.s, is, 0))
		w := startWorld(t, e, writeConfig(t, e.s, setup{upstream: up, issuer: is}))
		r.caller = newCaller(w.egress)
		r.caller.sendN(20, 4, "oauth.faults.local", `{}`)
		wantOnly(t, r.caller, want)
		wantStage(t, r.caller, "token")
		wantReached(t, up, 0)
		r.note("token endpoint called %d times for 20 requests (backoff)", is.calls.Load())
	}
}

// provider401: the provider revokes its tokens. The next request carries the revoked token and
// gets the provider's 401; keygate's upstream filter purges exactly that token (retry_on) and
// Envoy's router sends the request once more through the signed cluster, signed with a new
// token (two-step verification's one retry), so the caller gets the retry's 200 and never sees
// the 401.
func provider401(t *testing.T, e *env, r *record) {
	is := newIssuer(t, e.s.ClientSecret)
	up := r.watch(verifyingUpstream(t, e.s, is, 0))
	w := startWorld(t, e, writeConfig(t, e.s, setup{upstream: up, issuer: is}))
	r.caller = newCaller(w.egress)
	for range 5 {
		r.caller.send("oauth.faults.local", `{}`)
	}
	is.revokeAll()
	if got := r.caller.send("oauth.faults.local", `{}`); got != http.StatusOK {
		t.Errorf("the first request after the provider revoked the token got %d, want the retry's 200", got)
	}
	for range 5 {
		r.caller.send("oauth.faults.local", `{}`)
	}
	wantOnly(t, r.caller, http.StatusOK)
	if n := is.calls.Load(); n != 2 {
		t.Errorf("token endpoint called %d times, want 2 (first token, then one after the 401)", n)
	}
	if n := up.rejected.Load(); n != 1 {
		t.Errorf("the provider rejected %d requests with the revoked token, want 1", n)
	}
	wantReached(t, up, 12) // 11 requests and the one retry
	r.note("token endpoint called %d times; the provider rejected %d request (revoked token) and got 1 retry with the new token", is.calls.Load(), up.rejected.Load())
}

// providerTimeout: the provider answers after the route timeout. The egress answers 504; the
// requests that reached the provider were signed.
func providerTimeout(t *testing.T, e *env, r *record) {
	up := r.watch(verifyingUpstream(t, e.s, nil, 1500*time.Millisecond))
	w := startWorld(t, e, writeConfig(t, e.s, setup{upstream: up, routeTimeout: "300ms"}))
	r.caller = newCaller(w.egress)
	r.caller.sendN(10, 5, "static.faults.local", orderBody(e.s))
	wantOnly(t, r.caller, http.StatusGatewayTimeout)
	wantReached(t, up, 10)
}
