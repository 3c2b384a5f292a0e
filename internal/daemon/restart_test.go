package daemon

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/keygate/keygate/internal/admin"
	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/internal/secret"
	"github.com/keygate/keygate/internal/testkit"
	"github.com/keygate/keygate/internal/versions"
)

// TestRestartRequiredIsReported: a live apply that changes a setting keygate serve reads only
// at start (listen.admin, keystore.file) is served but cannot move the listener or reopen the
// keystore; the operator is told in the reply, GET /v1/config, /metrics, the log and the audit
// log, by path and never by value. Applying the start values back clears it; a rollback to a
// version with other start-only values reports it again. A tenant admin sees none of it.
func TestRestartRequiredIsReported(t *testing.T) {
	const (
		rootTok   = "kgadm_root-token-for-the-test-0001"
		tenantTok = "kgadm_acme-admin-token-for-the-test"
		// Sentinels: values that must never reach a reply, a log line or the audit log.
		sentinelAddr = "sentinel-admin-4c1d.invalid:0"
		sentinelKeys = "sentinel-keys-5b7e.yaml"
	)
	dir, base := apiConfigDir(t)
	base = strings.Replace(base, "  - name: api\n", "  - name: api\n    tenant: acme\n", 1)
	base += "tenants: [{name: acme}]\nadmin:\n  tokens:\n" + tokenLine("root", "gateway_admin", rootTok) +
		"  - {name: acme-admin, role: tenant_admin, tenant: acme, hash: \"" + admin.HashToken(secret.FromString(tenantTok)) + "\"}\n"
	if err := os.WriteFile(filepath.Join(dir, "keygate.yaml"), []byte(base), 0o600); err != nil {
		t.Fatal(err)
	}
	moved := strings.NewReplacer(`admin: "127.0.0.1:0"`, `admin: "`+sentinelAddr+`"`, "path: keys.yaml", "path: "+sentinelKeys).Replace(base)
	if moved == base || !strings.Contains(moved, sentinelAddr) || !strings.Contains(moved, sentinelKeys) {
		t.Fatal("the test config no longer has the lines the test changes")
	}
	logs := &testkit.SyncBuffer{}
	d := startDaemonWith(t, dir, Options{Logger: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})

	type field struct{ Path, Reason string }
	type reply struct {
		Number          int      `json:"number"`
		RestartRequired *[]field `json:"restart_required"`
	}
	var replies []string
	call := func(tok, method, path, body string) reply {
		t.Helper()
		st, _, b := d.admin(t, tok, method, path, body)
		if st != http.StatusOK {
			t.Fatalf("%s %s: %d %s", method, path, st, b)
		}
		if method == "POST" {
			replies = append(replies, b) // GET /v1/config shows a gateway admin the whole YAML
		}
		var r reply
		if err := json.Unmarshal([]byte(b), &r); err != nil {
			t.Fatalf("%s %s: %v in %s", method, path, err, b)
		}
		return r
	}
	paths := func(r reply) []string {
		t.Helper()
		if r.RestartRequired == nil {
			t.Fatalf("version %d: no restart_required in a gateway admin's reply", r.Number)
		}
		var out []string
		for _, f := range *r.RestartRequired {
			if f.Reason == "" {
				t.Errorf("%s has no reason", f.Path)
			}
			out = append(out, f.Path)
		}
		return out
	}
	metric := func() string {
		t.Helper()
		_, body := get(t, "http://"+d.addrs.Admin+"/metrics")
		for _, line := range strings.Split(body, "\n") {
			if strings.HasPrefix(line, "keygate_config_restart_required ") {
				return strings.TrimPrefix(line, "keygate_config_restart_required ")
			}
		}
		t.Fatal("/metrics has no keygate_config_restart_required")
		return ""
	}
	want := []string{"listen.admin", "keystore.file"}
	// What it started with is written down for keygate config as fingerprints, not values.
	started, err := ReadStarted(filepath.Join(dir, "state"))
	if err != nil || len(started.Settings) != len(startOnly) {
		t.Fatalf("started settings: %v, %d of %d", err, len(started.Settings), len(startOnly))
	}
	if b, _ := os.ReadFile(StartedFile(filepath.Join(dir, "state"))); strings.Contains(string(b), "keys.yaml") || strings.Contains(string(b), "127.0.0.1") {
		t.Errorf("the started settings show a value: %s", b)
	}

	if got := paths(call(rootTok, "GET", "/v1/config", "")); len(got) != 0 || metric() != "0" {
		t.Fatalf("at start: restart_required %v, metric %s", got, metric())
	}
	v2 := call(rootTok, "POST", "/v1/config", moved)
	if got := paths(v2); !slices.Equal(got, want) {
		t.Fatalf("apply moving listen.admin and keystore.file: restart_required %v, want %v", got, want)
	}
	// The process did not change: the admin API still answers where it started.
	if st, _ := get(t, "http://"+d.addrs.Admin+"/healthz"); st != http.StatusOK {
		t.Fatalf("the admin listener moved or closed: %d", st)
	}
	if got := paths(call(rootTok, "GET", "/v1/config", "")); !slices.Equal(got, want) {
		t.Errorf("GET /v1/config (a second operator): restart_required %v, want %v", got, want)
	}
	if m := metric(); m != "1" {
		t.Errorf("keygate_config_restart_required %s, want 1", m)
	}
	// A tenant admin may not change these sections and is told nothing about them.
	if r := call(tenantTok, "GET", "/v1/config", ""); r.RestartRequired != nil {
		t.Errorf("a tenant admin sees restart_required: %v", *r.RestartRequired)
	}
	_, _, tenantAudit := d.admin(t, tenantTok, "GET", "/v1/audit", "")
	if strings.Contains(tenantAudit, "restart_required") || strings.Contains(tenantAudit, "listen.admin") {
		t.Errorf("a tenant admin's audit log shows the restart report: %s", tenantAudit)
	}

	// The start values again: nothing pending (compared with the start, not the previous version).
	if got := paths(call(rootTok, "POST", "/v1/config", base)); len(got) != 0 {
		t.Errorf("applying the start config back: restart_required %v", got)
	}
	if m := metric(); m != "0" {
		t.Errorf("keygate_config_restart_required %s after applying the start config back, want 0", m)
	}
	if got := paths(call(rootTok, "GET", "/v1/config", "")); len(got) != 0 {
		t.Errorf("GET /v1/config after applying back: %v", got)
	}

	// A rollback to the version that moved them reports them again.
	rb := call(rootTok, "POST", "/v1/config/rollback", `{"version": `+jsonInt(v2.Number)+`}`)
	if got := paths(rb); !slices.Equal(got, want) {
		t.Errorf("rollback to version %d: restart_required %v, want %v", v2.Number, got, want)
	}
	if m := metric(); m != "1" {
		t.Errorf("keygate_config_restart_required %s after the rollback, want 1", m)
	}

	// Told in the log and the audit log by path; no value anywhere.
	log := logs.String()
	if !strings.Contains(log, `"restart_required":["listen.admin","keystore.file"]`) || !strings.Contains(log, `"level":"WARN"`) {
		t.Errorf("no warning naming the paths in the log:\n%s", log)
	}
	_, _, auditBody := d.admin(t, rootTok, "GET", "/v1/audit", "")
	for _, action := range []string{`"config.restart_required"`, `"config.restart_cleared"`} {
		if !strings.Contains(auditBody, action) {
			t.Errorf("the audit log lacks %s", action)
		}
	}
	auditFile, _ := os.ReadFile(filepath.Join(dir, "state", "audit.jsonl"))
	for name, text := range map[string]string{"log": log, "audit API": auditBody, "audit file": string(auditFile), "replies": strings.Join(replies, "\n")} {
		for _, s := range []string{sentinelKeys, "sentinel-admin"} {
			if strings.Contains(text, s) {
				t.Errorf("the %s shows the value %s", name, s)
			}
		}
	}

	// A restart reads these settings from the config file, which still has the start values,
	// while the newest stored version (served again) has others: still pending, and said so.
	d.stop()
	d = startDaemonWith(t, dir, Options{Logger: slog.New(slog.NewJSONHandler(logs, nil))})
	if got := paths(call(rootTok, "GET", "/v1/config", "")); !slices.Equal(got, want) {
		t.Errorf("after a restart from the unchanged file: restart_required %v, want %v", got, want)
	}
	if m := metric(); m != "1" {
		t.Errorf("keygate_config_restart_required %s after a restart from the unchanged file, want 1", m)
	}
}

func jsonInt(n int) string { b, _ := json.Marshal(n); return string(b) }

// TestRestartRequiredFromTheStore: a version another writer stored (keygate config apply on
// this machine's state folder, another replica of a fleet) is followed like any other, and
// reported like any other: the gauge and a warning naming the path.
func TestRestartRequiredFromTheStore(t *testing.T) {
	dir, base := apiConfigDir(t)
	logs := &testkit.SyncBuffer{}
	d := startDaemonWith(t, dir, Options{Logger: slog.New(slog.NewJSONHandler(logs, nil))})
	disk, err := versions.OpenDisk(filepath.Join(dir, "state", "versions"), 0)
	if err != nil {
		t.Fatal(err)
	}
	other := versions.NewManager(versions.Options{Store: disk,
		Compile: func(context.Context, *config.File, map[string]int) error { return nil }})
	moved := strings.Replace(base, "state: {dir: state}", "state: {dir: state}\nlimits: {admin_max_connections: 7}", 1)
	if _, err := other.Apply(context.Background(), []byte(moved), "cli", "from another writer"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, body := get(t, "http://"+d.addrs.Admin+"/metrics")
		if strings.Contains(body, "\nkeygate_config_restart_required 1\n") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("a followed version changing limits.admin_max_connections: keygate_config_restart_required is not 1")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !strings.Contains(logs.String(), `"restart_required":["limits.admin_max_connections"]`) {
		t.Errorf("no warning naming limits.admin_max_connections:\n%s", logs.String())
	}
}
