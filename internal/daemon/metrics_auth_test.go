package daemon

import (
	"net/http"
	"os"
	"path/filepath"
	"testing"
)

// TestMetricsTokenFollowsTheRunningVersion: admin.metrics.require_token was read once at start,
// so an operator who turned it on with a config apply (the series name tenants and providers)
// still served /metrics to anyone until a restart. It follows the running version now, both ways.
func TestMetricsTokenFollowsTheRunningVersion(t *testing.T) {
	const rootTok = "kgadm_root-token-for-the-test-0001"
	dir, base := apiConfigDir(t)
	cfg := func(requireToken string) string {
		return base + "admin:\n  metrics: {require_token: " + requireToken + "}\n  tokens:\n" + tokenLine("root", "gateway_admin", rootTok)
	}
	if err := os.WriteFile(filepath.Join(dir, "keygate.yaml"), []byte(cfg("false")), 0o600); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, dir)
	anonymous := func() int {
		resp, err := http.Get("http://" + d.addrs.Admin + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if st := anonymous(); st != http.StatusOK {
		t.Fatalf("/metrics without require_token: %d", st)
	}
	if st, _, body := d.admin(t, rootTok, "POST", "/v1/config", cfg("true")); st != http.StatusOK {
		t.Fatalf("turning require_token on: %d %s", st, body)
	}
	if st := anonymous(); st != http.StatusUnauthorized {
		t.Fatalf("/metrics without a token once require_token is on: %d, want 401", st)
	}
	if st, _, _ := d.admin(t, rootTok, "GET", "/metrics", ""); st != http.StatusOK {
		t.Fatalf("/metrics with a gateway admin's token: %d", st)
	}
	if st, _, body := d.admin(t, rootTok, "POST", "/v1/config", cfg("false")); st != http.StatusOK {
		t.Fatalf("turning require_token off: %d %s", st, body)
	}
	if st := anonymous(); st != http.StatusOK {
		t.Fatalf("/metrics once require_token is off again: %d", st)
	}
}
