package faults

import (
	"net/http"
	"sync"
	"sync/atomic"
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

// rollingDeploy: two replicas of keygate behind the egress (the ext_proc cluster's hosts,
// health-checked), each restarted in turn under load the way keygate serve drains: NOT_SERVING,
// still serving through the drain delay while Envoy takes it out, the streams in flight end,
// a new process starts on the same port. No caller gets anything but 200.
func rollingDeploy(t *testing.T, e *env, r *record) {
	up := r.watch(verifyingUpstream(t, e.s, nil, 0))
	dir := writeConfig(t, e.s, setup{upstream: up})
	loaded := loadConfig(t, dir)
	replicas := []*keygate{
		startKeygate(t, newApp(t, loaded, e.log), loaded, "127.0.0.1:0", e.log),
		startKeygate(t, newApp(t, loaded, e.log), loaded, "127.0.0.1:0", e.log),
	}
	r.caller = newCaller(startEgressTo(t, loaded.File, []string{replicas[0].addr, replicas[1].addr}, e.log))
	if !r.caller.until200("static.faults.local", orderBody(e.s), 40) {
		t.Fatal("the egress does not serve before the deploy")
	}
	var stop atomic.Bool
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for !stop.Load() {
				r.caller.send("static.faults.local", orderBody(e.s))
			}
		})
	}
	start := time.Now()
	for i, old := range replicas {
		time.Sleep(300 * time.Millisecond)
		old.drain(500 * time.Millisecond)
		replicas[i] = startKeygate(t, newApp(t, loaded, e.log), loaded, old.addr, e.log) // the new version
		time.Sleep(1500 * time.Millisecond)                                              // back in the cluster before the next one drains
	}
	stop.Store(true)
	wg.Wait()
	r.note("two replicas restarted one after the other in %s under 4 concurrent callers", time.Since(start).Round(100*time.Millisecond))
	wantOnly(t, r.caller, http.StatusOK)
}
