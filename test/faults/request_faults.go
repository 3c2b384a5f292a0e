package faults

import (
	"net/http"
	"strings"
	"testing"
)

// scriptFault: a custom-mode script loops forever (time limit: 504), throws (500), allocates
// past its memory budget inside a built-in (500, before the allocation), or attacks its keys
// (500: every refused use of a secret fails the request, uncatchably). All fail closed at
// stage "script"; nothing reaches the upstream.
func scriptFault(host string) func(t *testing.T, e *env, r *record) {
	want := http.StatusInternalServerError
	if strings.HasPrefix(host, "loop.") {
		want = http.StatusGatewayTimeout
	}
	return func(t *testing.T, e *env, r *record) {
		up := r.watch(verifyingUpstream(t, e.s, nil, 0))
		w := startWorld(t, e, writeConfig(t, e.s, setup{upstream: up}))
		r.caller = newCaller(w.egress)
		r.caller.sendN(10, 2, host, orderBody(e.s))
		wantOnly(t, r.caller, want)
		wantStage(t, r.caller, "script")
		wantReached(t, up, 0)
	}
}

// bodyOverLimit: a body over limits.max_body_bytes (4096 here) is refused with 413 by the
// egress's buffer limit before keygate sees it.
func bodyOverLimit(t *testing.T, e *env, r *record) {
	up := r.watch(verifyingUpstream(t, e.s, nil, 0))
	w := startWorld(t, e, writeConfig(t, e.s, setup{upstream: up}))
	r.caller = newCaller(w.egress)
	body := `{"data":"` + e.s.Plaintext + `","pad":"` + strings.Repeat("x", 5000) + `"}`
	r.caller.sendN(10, 2, "static.faults.local", body)
	wantOnly(t, r.caller, http.StatusRequestEntityTooLarge)
	wantReached(t, up, 0)
}

// bodyAboveGRPCDefault: with limits.max_body_bytes at 6 MiB, a 5 MiB body (over gRPC's default
// 4 MiB message limit) is signed and sent: keygate's gRPC limit follows the body limit.
func bodyAboveGRPCDefault(t *testing.T, e *env, r *record) {
	up := r.watch(verifyingUpstream(t, e.s, nil, 0))
	w := startWorld(t, e, writeConfig(t, e.s, setup{upstream: up, maxBody: 6 << 20}))
	r.caller = newCaller(w.egress)
	body := `{"data":"` + e.s.Plaintext + `","pad":"` + strings.Repeat("x", 5<<20) + `"}`
	for range 2 {
		r.caller.send("static.faults.local", body)
	}
	wantOnly(t, r.caller, http.StatusOK)
	wantReached(t, up, 2)
}
