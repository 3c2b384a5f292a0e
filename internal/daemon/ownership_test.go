package daemon

import (
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/keygate/keygate/internal/admin"
	"github.com/keygate/keygate/internal/secret"
)

// TestFileEditNeverDropsAPIChanges: an operator edits one timeout in the config file after a
// gateway admin created a tenant through the API. The edit would drop the tenant: it is
// refused (logged and audited) and the tenant stays; with --config-file-wins it applies.
func TestFileEditNeverDropsAPIChanges(t *testing.T) {
	dir := t.TempDir()
	const token = "ownership-admin-token-1"
	cfg := strings.Replace(testConfig, "state: {dir: state}", "state: {dir: state}\nadmin:\n  tokens: [{name: ops, role: gateway_admin, hash: '"+
		admin.HashToken(secret.FromString(token))+"'}]", 1)
	cfg = strings.NewReplacer("UPSTREAM", "http://127.0.0.1:9", "PREFIX", "v1", "  - name: api\n", "  - name: api\n    tenant: alpha\n").Replace(cfg) +
		"tenants: [{name: alpha}]\n"
	write := func(s string) {
		if err := os.WriteFile(filepath.Join(dir, "keygate.yaml"), []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(cfg)
	if err := os.WriteFile(filepath.Join(dir, "keys.yaml"), []byte("secret/keygate/api:\n  key: k\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, dir)
	base := "http://" + d.addrs.Admin
	req, _ := http.NewRequest("POST", base+"/v1/tenants", strings.NewReader(`{"name":"beta"}`))
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("create tenant beta: %v %v", err, resp)
	}
	resp.Body.Close()

	write(strings.Replace(cfg, `url: "http://127.0.0.1:9/v1"`, `url: "http://127.0.0.1:9/v1", timeout: 3s`, 1))
	tenants := func() string {
		req, _ := http.NewRequest("GET", base+"/v1/tenants", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b := make([]byte, 4096)
		n, _ := resp.Body.Read(b)
		return string(b[:n])
	}
	audited := func() bool {
		b, _ := os.ReadFile(filepath.Join(dir, "state", "audit.jsonl"))
		return strings.Contains(string(b), `"action":"config.file"`) && strings.Contains(string(b), `"outcome":"refused"`)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !audited() {
		if time.Now().After(deadline) {
			t.Fatal("the refused file edit was not audited")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !strings.Contains(tenants(), `"beta"`) {
		t.Fatal("the file edit dropped tenant beta, created through the admin API")
	}

	// The operator means it: restart with --config-file-wins.
	d.stop()
	d = startDaemonWith(t, dir, Options{ConfigFileWins: true})
	base = "http://" + d.addrs.Admin
	if strings.Contains(tenants(), `"beta"`) {
		t.Fatal("with --config-file-wins the edited file should be the config (no tenant beta)")
	}
}

// TestRunWaitsForItsGoroutines: when Run returns, the file watcher and the store follower have
// stopped (they use the store and keystore Run closes).
func TestRunWaitsForItsGoroutines(t *testing.T) {
	dir := t.TempDir()
	cfg := strings.NewReplacer("UPSTREAM", "http://127.0.0.1:9", "PREFIX", "v1").Replace(testConfig)
	_ = os.WriteFile(filepath.Join(dir, "keygate.yaml"), []byte(cfg), 0o600)
	_ = os.WriteFile(filepath.Join(dir, "keys.yaml"), []byte("secret/keygate/api:\n  key: k\n"), 0o600)
	d := startDaemon(t, dir)
	d.stop()
	buf := make([]byte, 1<<20)
	stacks := string(buf[:runtime.Stack(buf, true)])
	for _, fn := range []string{"daemon.watchFile", "daemon.followStore"} {
		if strings.Contains(stacks, fn) {
			t.Errorf("%s still runs after Run returned", fn)
		}
	}
}
