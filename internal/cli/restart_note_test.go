package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keygate/keygate/internal/daemon"
)

// TestConfigApplyWarnsOfStartOnlySettings: `keygate config apply|rollback` store versions a
// running keygate serve follows, but it keeps the settings it reads only at start. The CLI
// says which, by path (never a value), against what keygate serve started with when its
// state folder says so, else against the version replaced.
func TestConfigApplyWarnsOfStartOnlySettings(t *testing.T) {
	state, dir := t.TempDir(), t.TempDir()
	const sentinelKeys = "sentinel-keys-5b7e.yaml"
	write := func(name, admin, keys string) string {
		p := filepath.Join(dir, name)
		cfg := "listen: {admin: \"" + admin + "\"}\nkeystore: {type: file, file: {path: " + keys + "}}\n" +
			"providers:\n  - name: pay\n    hosts: [pay.egress.local]\n    upstream: {url: \"https://pay.example\"}\n"
		if err := os.WriteFile(p, []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	a := write("a.yaml", "127.0.0.1:18081", "keys.yaml")
	moved := write("moved.yaml", "sentinel-admin-4c1d.invalid:0", sentinelKeys)
	run := func(args ...string) (stdout, stderr string) {
		t.Helper()
		cmd := NewConfigCommand(nil, nil)
		var out, errOut bytes.Buffer
		cmd.SetOut(&out)
		cmd.SetErr(&errOut)
		cmd.SetArgs(append(args, "--state-dir", state, "--author", "tester"))
		if err := cmd.Execute(); err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		if strings.Contains(out.String()+errOut.String(), "sentinel-admin") || strings.Contains(out.String()+errOut.String(), sentinelKeys) {
			t.Errorf("%v prints a value: %s%s", args, out.String(), errOut.String())
		}
		return out.String(), errOut.String()
	}

	// No keygate serve has written what it started with: compared with the version replaced.
	if _, warn := run("apply", a); warn != "" {
		t.Errorf("the first version warns: %q", warn)
	}
	_, warn := run("apply", moved)
	want := "warning: version 2 changes settings keygate serve reads only at start (changed since version 1): " +
		"listen.admin, keystore.file; they take effect when it restarts (from its config file)\n"
	if warn != want {
		t.Errorf("apply moving listen.admin:\n got %q\nwant %q", warn, want)
	}

	// keygate serve started with a.yaml's settings: compared with those.
	settings, err := daemon.SettingsOf(mustRead(t, a), dir)
	if err != nil {
		t.Fatal(err)
	}
	started := daemon.Started{PID: 4242, Time: time.Date(2026, 12, 3, 14, 0, 0, 0, time.UTC), Dir: dir, Settings: settings}
	b, _ := json.Marshal(started)
	if err := os.WriteFile(daemon.StartedFile(state), b, 0o600); err != nil {
		t.Fatal(err)
	}
	if out, warn := run("apply", a); warn != "" || !strings.HasPrefix(out, "version 3 (") {
		t.Errorf("applying the start settings back: %q %q", out, warn)
	}
	out, warn := run("rollback", "2")
	want = "warning: version 4 changes settings keygate serve (pid 4242, started 2026-12-03 14:00:00 UTC) reads only at start: " +
		"listen.admin, keystore.file; they take effect when it restarts (from its config file)\n"
	if out != "version 4 (rollback to 2)\n" || warn != want {
		t.Errorf("rollback to the moved version:\n got %q %q\nwant %q", out, warn, want)
	}
	if _, warn := run("rollback", "1"); warn != "" {
		t.Errorf("rollback to the start settings warns: %q", warn)
	}
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
