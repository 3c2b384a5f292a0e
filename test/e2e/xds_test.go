package e2e

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/keygate/keygate/internal/devstack"
)

const xdsConfig = `
keystore: {type: file, file: {path: keys.yaml}}
providers:
  - name: static
    hosts: [static.egress.local]
    upstream: {url: "UPSTREAM/api", timeout: TIMEOUT}
    secrets: {api_key: secret/keygate/static#api_key}
    signing:
      - {scheme: static, secret: api_key, in: header, name: X-Api-Key}
`

func xdsConfigFor(upstream, timeout string) string {
	return strings.NewReplacer("UPSTREAM", upstream, "TIMEOUT", timeout).Replace(xdsConfig)
}

// TestConfigChangeReroutesWithoutRestart edits the config while the egress is connected: keygate
// pushes new routes, clusters and timeouts over xDS and the egress follows without a restart.
func TestConfigChangeReroutesWithoutRestart(t *testing.T) {
	first, seenFirst := captureUpstream(t)
	second, seenSecond := captureUpstream(t)
	slowRelease := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-slowRelease:
		case <-time.After(5 * time.Second):
		}
	}))
	t.Cleanup(func() { close(slowRelease); slow.Close() })

	s := startStack(t, devstack.Options{ConfigDir: configDir(t, xdsConfigFor(first.URL, "5s"), "", failuresKeys)})
	if status, _, body := call(t, s, "GET", "static.egress.local", "/a", "", nil); status != 200 || seenFirst.count() != 1 {
		t.Fatalf("before the change: status %d (%s), first upstream saw %d", status, body, seenFirst.count())
	}

	apply := func(cfg string) {
		t.Helper()
		if err := s.Apply(context.Background(), []byte(cfg)); err != nil {
			t.Fatalf("apply: %v", err)
		}
	}
	apply(xdsConfigFor(second.URL, "5s"))
	waitFor(t, func() bool {
		status, _, _ := call(t, s, "GET", "static.egress.local", "/b", "", nil)
		return status == 200 && seenSecond.count() > 0
	})
	if r, _ := seenSecond.last(); r.URL.Path != "/api/b" || r.Header.Get("X-Api-Key") == "" {
		t.Errorf("second upstream got %s without the credential", r.URL.Path)
	}

	apply(xdsConfigFor(slow.URL, "300ms"))
	waitFor(t, func() bool {
		status, _, _ := call(t, s, "GET", "static.egress.local", "/c", "", nil)
		return status == http.StatusGatewayTimeout
	})

	if err := s.Apply(context.Background(), []byte(`providers: [{name: "Bad Name"}]`)); err == nil ||
		!strings.Contains(err.Error(), "providers[0]") {
		t.Fatalf("an invalid config must be refused naming the field, got %v", err)
	}
	if status, _, _ := call(t, s, "GET", "static.egress.local", "/d", "", nil); status != http.StatusGatewayTimeout {
		t.Errorf("after a refused config the last good one must keep serving (want the slow route's 504), got %d", status)
	}
}

// waitFor polls cond (xDS pushes are asynchronous), bounded to 5 s.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
		time.Sleep(50 * time.Millisecond)
	}
}
