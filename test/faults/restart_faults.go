package faults

import (
	"net/http"
	"sync"
	"testing"
	"time"
)

// restartUnderLoad: keygate dies (streams cut) and a new process starts on the same port
// while a bounded load runs through the egress (failure_mode_allow false). Callers get 200 or
// a 5xx; nothing unsigned reaches the upstream; after the restart requests succeed again.
func restartUnderLoad(t *testing.T, e *env, r *record) {
	up := r.watch(verifyingUpstream(t, e.s, nil, 0))
	dir := writeConfig(t, e.s, setup{upstream: up})
	loaded := loadConfig(t, dir)
	kg := startKeygate(t, newApp(t, loaded, e.log), loaded, "127.0.0.1:0", e.log)
	r.caller = newCaller(StartEgress(t, loaded.File, kg.addr, e.log))

	var wg sync.WaitGroup
	wg.Go(func() { r.caller.sendN(200, 4, "static.faults.local", orderBody(e.s)) })
	for {
		if sent, _ := r.caller.snapshot(); sent >= 40 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	kg.kill()
	down := time.Now()
	time.Sleep(200 * time.Millisecond)
	startKeygate(t, newApp(t, loaded, e.log), loaded, kg.addr, e.log) // the new process, same port
	r.note("keygate was down for %s", time.Since(down).Round(10*time.Millisecond))
	wg.Wait()
	if !r.caller.until200("static.faults.local", orderBody(e.s), 40) {
		t.Errorf("requests did not succeed again within 10s of the restart")
	}
	wantOnly(t, r.caller, http.StatusOK, http.StatusInternalServerError, http.StatusServiceUnavailable, http.StatusGatewayTimeout)
}
