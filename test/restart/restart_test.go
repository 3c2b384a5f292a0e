// Package restart tests keygate's graceful restart with load running: the real binary as a
// subprocess behind the Envoy emulator.
package restart

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/keygate/keygate/internal/app"
	"github.com/keygate/keygate/internal/redact"
	"github.com/keygate/keygate/internal/secret"
	"github.com/keygate/keygate/internal/testkit"
	"github.com/keygate/keygate/test/faults"
)

const drainTimeout = 5 * time.Second

// TestGracefulRestartUnderLoad: SIGTERM turns gRPC health NOT_SERVING and /readyz 503, the
// requests in flight finish (the upstream answers slowly, so they are in flight), the process
// exits 0 within the drain timeout; a new process serves the same config; no request reaches
// the upstream without its credential.
func TestGracefulRestartUnderLoad(t *testing.T) {
	bin := testkit.BuildKeygate(t, false)
	raw := make([]byte, 16)
	_, _ = rand.Read(raw)
	apiKey := "restart-key-" + hex.EncodeToString(raw)
	var set redact.Set // what this test prints of keygate's output has the key withheld
	set.Add(secret.FromString(apiKey))
	shown := func(out []byte) []byte { return set.Apply(out) }
	var reached, leaks atomic.Int64
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reached.Add(1)
		_, _ = io.Copy(io.Discard, r.Body)
		if r.Header.Get("X-Api-Key") != apiKey {
			leaks.Add(1)
		}
		time.Sleep(300 * time.Millisecond) // keeps streams in flight across the SIGTERM
		_, _ = w.Write([]byte(`{"ok":true}`))
	}))
	defer up.Close()

	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "keygate.yaml")
	writeFile(t, filepath.Join(dir, "keys.yaml"), "secret/restart/static:\n  api_key: "+apiKey+"\n")
	// Every port is 0: the process reports what it bound. The restarted process must come back on
	// the first one's ext_proc address (the egress, like Envoy's cluster, still points there).
	config := func(ext string) string {
		return "listen: {ext_proc: '" + ext + "', admin: '127.0.0.1:0', xds: '127.0.0.1:0'}\n" +
			"state: {dir: '" + filepath.Join(dir, "state") + "'}\n" +
			"keystore: {type: file, file: {path: keys.yaml}}\nproviders:\n  - name: static\n    hosts: [static.restart.local]\n" +
			"    upstream: {url: '" + up.URL + "/api', timeout: 5s}\n    secrets: {api_key: secret/restart/static#api_key}\n" +
			"    signing: [{scheme: static, secret: api_key, in: header, name: X-Api-Key}]\n"
	}
	writeFile(t, cfgPath, config("127.0.0.1:0"))

	serve := []string{"serve", "--config", cfgPath, "--drain-timeout", drainTimeout.String()}
	first := testkit.StartProcess(t, bin, serve...)
	addrs := first.WaitServing(t, 10*time.Second, shown)
	ext, admin := addrs.ExtProc, addrs.Admin
	first.WaitHTTP200(t, "http://"+admin+"/readyz", 10*time.Second, shown)
	loaded, err := app.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	egress := faults.StartEgress(t, loaded.File, ext, slog.New(slog.DiscardHandler))
	l := &load{egress: egress}
	l.start(4, 400)
	for l.sent.Load() < 12 {
		time.Sleep(5 * time.Millisecond)
	}

	conn := dial(t, ext)
	term := time.Now()
	if err := first.Cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	sawNotServing, saw503 := false, false
	for !(sawNotServing && saw503) {
		select {
		case <-first.Exited:
			t.Fatalf("exited before NOT_SERVING (%v) and /readyz 503 (%v) were both seen", sawNotServing, saw503)
		default:
		}
		if !sawNotServing && healthStatus(context.Background(), conn) == healthpb.HealthCheckResponse_NOT_SERVING {
			sawNotServing = true
			l.stop.Store(true) // Envoy's health check takes the endpoint out: no new streams
		}
		if !saw503 && readyz(admin) == http.StatusServiceUnavailable {
			saw503 = true
		}
	}
	select {
	case <-first.Exited:
	case <-time.After(drainTimeout + 5*time.Second):
		t.Fatalf("keygate did not exit within the drain timeout (%s) after SIGTERM", drainTimeout)
	}
	took := time.Since(term)
	if first.Err != nil {
		t.Errorf("keygate exited with %v after SIGTERM, want 0; its output, the key withheld:\n%s", first.Err, shown(first.Out.Bytes()))
	}
	l.wg.Wait()
	t.Logf("drain: exit %s after SIGTERM; load before and during drain: %v", took.Round(10*time.Millisecond), l.statuses())
	for status, n := range l.statuses() {
		if status != "200" {
			t.Errorf("%d requests in flight across the SIGTERM got %s, want every one to finish with 200", n, status)
		}
	}

	writeFile(t, cfgPath, config(ext))
	second := testkit.StartProcess(t, bin, serve...)
	admin = second.WaitServing(t, 10*time.Second, shown).Admin
	second.WaitHTTP200(t, "http://"+admin+"/readyz", 10*time.Second, shown)
	after := &load{egress: egress}
	ok := false
	for range 40 { // the egress's gRPC channel reconnects with backoff
		if after.send() == http.StatusOK {
			ok = true
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	if !ok {
		t.Fatalf("the new process did not serve within 10s: %v", after.statuses())
	}
	after.start(4, 20)
	after.wg.Wait()
	t.Logf("after restart: %v; upstream reached %d, unsigned %d", after.statuses(), reached.Load(), leaks.Load())
	if leaks.Load() != 0 {
		t.Errorf("%d requests reached the upstream without the credential", leaks.Load())
	}
	for i, out := range [][]byte{first.Out.Bytes(), second.Out.Bytes()} {
		if found, form := set.Find(out); found {
			t.Errorf("process %d's log holds the API key (form %d; value withheld)", i+1, form)
		}
	}
}

// load sends requests through the egress until stop or max.
type load struct {
	egress string
	sent   atomic.Int64
	stop   atomic.Bool
	wg     sync.WaitGroup
	mu     sync.Mutex
	got    map[string]int
}

func (l *load) start(workers, max int) {
	for range workers {
		l.wg.Go(func() {
			for !l.stop.Load() && l.sent.Add(1) <= int64(max) {
				l.send()
			}
		})
	}
}

func (l *load) send() int {
	req, _ := http.NewRequest(http.MethodPost, l.egress+"/orders", strings.NewReader(`{"n":1}`))
	req.Host = "static.restart.local"
	req.Header.Set("Content-Type", "application/json")
	status, key := 0, "no answer"
	c := http.Client{Timeout: 20 * time.Second}
	if resp, err := c.Do(req); err == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		status, key = resp.StatusCode, strconv.Itoa(resp.StatusCode)
	}
	l.mu.Lock()
	if l.got == nil {
		l.got = map[string]int{}
	}
	l.got[key]++
	l.mu.Unlock()
	return status
}

func (l *load) statuses() map[string]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := map[string]int{}
	for k, v := range l.got {
		out[k] = v
	}
	return out
}
