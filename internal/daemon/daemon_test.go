package daemon

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/keygate/keygate/envoy/emu"
)

const testConfig = `
listen: {ext_proc: "127.0.0.1:0", admin: "127.0.0.1:0", xds: "127.0.0.1:0"}
keystore: {type: file, file: {path: keys.yaml}}
state: {dir: state}
providers:
  - name: api
    hosts: [api.egress.local]
    upstream: {url: "UPSTREAM/PREFIX"}
    secrets: {key: secret/keygate/api#key}
    signing: [{scheme: static, secret: key, in: header, name: X-Api-Key}]
`

type running struct {
	addrs  Addrs
	cancel context.CancelFunc
	done   chan error
	once   sync.Once
}

func startDaemon(t *testing.T, dir string) *running {
	t.Helper()
	return startDaemonWith(t, dir, Options{})
}

// startDaemonWith starts a daemon on dir/keygate.yaml with opts (path, timeouts and Ready set here).
func startDaemonWith(t *testing.T, dir string, opts Options) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan Addrs, 1)
	r := &running{cancel: cancel, done: make(chan error, 1)}
	opts.ConfigPath, opts.DrainTimeout = filepath.Join(dir, "keygate.yaml"), 2*time.Second
	opts.WatchInterval, opts.Ready = 50*time.Millisecond, func(a Addrs) { ready <- a }
	go func() { r.done <- Run(ctx, opts) }()
	select {
	case r.addrs = <-ready:
	case err := <-r.done:
		t.Fatalf("daemon did not start: %v", err)
	case <-time.After(20 * time.Second):
		t.Fatal("daemon did not start within 20s")
	}
	t.Cleanup(r.stop)
	return r
}

// admin calls the daemon's admin API as tok (no body when body is ""): status, headers, body.
func (r *running) admin(t *testing.T, tok, method, path, body string) (int, http.Header, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, "http://"+r.addrs.Admin+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

func (r *running) stop() {
	r.once.Do(func() {
		r.cancel()
		select {
		case <-r.done:
		case <-time.After(10 * time.Second):
		}
	})
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func writeConfig(t *testing.T, dir, upstream, prefix string) {
	t.Helper()
	cfg := strings.NewReplacer("UPSTREAM", upstream, "PREFIX", prefix).Replace(testConfig)
	if err := os.WriteFile(filepath.Join(dir, "keygate.yaml"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
}

// apiConfigDir is a folder with the test config (the api provider, upstream
// https://api.example.test/v1) and its key: the folder, and the config's text for a test to
// extend and write back.
func apiConfigDir(t *testing.T) (dir, base string) {
	t.Helper()
	dir = t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "keys.yaml"), []byte("secret/keygate/api:\n  key: daemon-test-key-value\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	writeConfig(t, dir, "https://api.example.test", "v1")
	b, err := os.ReadFile(filepath.Join(dir, "keygate.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return dir, string(b)
}

func TestServeLifecycle(t *testing.T) {
	var lastPath string
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { lastPath = r.URL.Path }))
	defer up.Close()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "keys.yaml"), []byte("secret/keygate/api:\n  key: daemon-test-key-value\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	writeConfig(t, dir, up.URL, "v1")
	d := startDaemon(t, dir)
	admin := "http://" + d.addrs.Admin

	if st, _ := get(t, admin+"/healthz"); st != 200 {
		t.Fatalf("/healthz %d", st)
	}
	if st, body := get(t, admin+"/readyz"); st != 200 {
		t.Fatalf("/readyz %d: %s", st, body)
	}

	// Envoy's part: an emulated egress configured by this daemon's xDS.
	conn, err := grpc.NewClient(d.addrs.XDS, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	e, err := emu.NewFromADS(ctx, conn, emu.ADSConfig{NodeID: "test"})
	if err != nil {
		t.Fatalf("emulator over the daemon's xDS: %v", err)
	}
	defer e.Close()
	egress := httptest.NewServer(e)
	defer egress.Close()
	send := func() int {
		req, _ := http.NewRequest("GET", egress.URL+"/x", nil)
		req.Host = "api.egress.local"
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if st := send(); st != 200 || lastPath != "/v1/x" {
		t.Fatalf("request through the daemon: status %d, upstream path %q", st, lastPath)
	}
	if _, body := get(t, admin+"/metrics"); !strings.Contains(body, "keygate_config_version 1") ||
		strings.Contains(body, "daemon-test-key-value") {
		t.Errorf("/metrics lacks keygate_config_version 1, or shows a secret")
	}

	// An edit of the file becomes version 2, live without a restart.
	writeConfig(t, dir, up.URL, "v2")
	deadline := time.Now().Add(5 * time.Second)
	for send(); lastPath != "/v2/x"; send() {
		if time.Now().After(deadline) {
			t.Fatalf("file edit not applied: upstream still sees %q", lastPath)
		}
		time.Sleep(50 * time.Millisecond)
	}
	d.stop()

	// Restart with the config file gone (the config store unreachable): keygate boots from the
	// last-known-good version in the default state folder and serves it.
	if err := os.Remove(filepath.Join(dir, "keygate.yaml")); err != nil {
		t.Fatal(err)
	}
	t.Setenv("XDG_STATE_HOME", filepath.Join(dir, "xdg"))
	if err := os.MkdirAll(filepath.Join(dir, "xdg"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(dir, "state"), filepath.Join(dir, "xdg", "keygate")); err != nil {
		t.Fatal(err)
	}
	d2 := startDaemon(t, dir)
	if st, body := get(t, "http://"+d2.addrs.Admin+"/readyz"); st != 200 {
		t.Fatalf("restarted from last-known-good: /readyz %d: %s", st, body)
	}
	if _, body := get(t, "http://"+d2.addrs.Admin+"/metrics"); !strings.Contains(body, "keygate_config_version 2") {
		t.Error("restarted keygate does not serve version 2")
	}
}
