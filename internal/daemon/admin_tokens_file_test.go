package daemon

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keygate/keygate/internal/admin"
	"github.com/keygate/keygate/internal/secret"
)

// tokenLine is a tokens-file entry for tok, as `keygate admin token create` prints it.
func tokenLine(name, role, tok string) string {
	return "  - {name: " + name + ", role: " + role + ", hash: \"" + admin.HashToken(secret.FromString(tok)) + "\"}\n"
}

// TestServeAdminTokensFile: admin.tokens_file (a Kubernetes Secret mounted as a file) adds
// tokens to the config's; a changed file is the new set without a restart (a removed token
// stops working, a new one starts); a file that does not parse is refused, counted and the
// previous set stays; serve refuses to start on an unreadable or invalid one.
func TestServeAdminTokensFile(t *testing.T) {
	const cfgTok, opsTok, ops2Tok = "kgadm_config-token-for-the-test-0001", "kgadm_file-token-ops-0002", "kgadm_file-token-ops2-0003"
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "keys.yaml"), []byte("secret/keygate/api:\n  key: daemon-test-key-value\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	writeConfig(t, dir, "https://api.example.test", "v1")
	cfg, _ := os.ReadFile(filepath.Join(dir, "keygate.yaml"))
	cfg = append(cfg, []byte("admin:\n  tokens:\n"+tokenLine("cfg", "gateway_admin", cfgTok)+"  tokens_file: secrets/admin-tokens.yaml\n")...)
	if err := os.WriteFile(filepath.Join(dir, "keygate.yaml"), cfg, 0o600); err != nil {
		t.Fatal(err)
	}
	tokensFile := filepath.Join(dir, "secrets", "admin-tokens.yaml")
	writeTokens := func(content string) {
		t.Helper()
		// As the kubelet updates a Secret volume: a new file swapped in, never a partial write.
		tmp := tokensFile + ".new"
		if err := os.WriteFile(tmp, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, tokensFile); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Dir(tokensFile), 0o700); err != nil {
		t.Fatal(err)
	}

	// No file yet: serve does not start, and says which setting and file.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	err := Run(ctx, Options{ConfigPath: filepath.Join(dir, "keygate.yaml"), WatchInterval: -1})
	if err == nil || !strings.Contains(err.Error(), "admin.tokens_file") || !strings.Contains(err.Error(), "admin-tokens.yaml") {
		t.Fatalf("serve with a missing tokens file: %v", err)
	}
	// An invalid file: the line and field at fault, and the pasted token is not echoed.
	writeTokens("tokens:\n" + tokenLine("ops", "gateway_admin", opsTok) + "  - {name: oops, role: " + ops2Tok + "-and-more-to-be-long, hash: \"sha256:00\"}\n")
	err = Run(ctx, Options{ConfigPath: filepath.Join(dir, "keygate.yaml"), WatchInterval: -1})
	if err == nil || !strings.Contains(err.Error(), "line 3: tokens[1].role") || !strings.Contains(err.Error(), "tokens[1].hash") {
		t.Fatalf("serve with an invalid tokens file: %v", err)
	}
	if strings.Contains(err.Error(), ops2Tok) {
		t.Fatalf("the error echoes a token: %v", err)
	}

	writeTokens("tokens:\n" + tokenLine("ops", "gateway_admin", opsTok))
	d := startDaemon(t, dir)
	whoami := func(tok string) (int, string) {
		st, _, b := d.admin(t, tok, "GET", "/v1/whoami", "")
		return st, b
	}
	// until polls, slower than the failed-login limit (5/s), until ok; it fails after 20s.
	until := func(what string, ok func() bool) {
		t.Helper()
		for end := time.Now().Add(20 * time.Second); !ok(); time.Sleep(250 * time.Millisecond) {
			if time.Now().After(end) {
				t.Fatalf("not seen: %s", what)
			}
		}
	}
	for tok, name := range map[string]string{cfgTok: `"cfg"`, opsTok: `"ops"`} {
		if st, body := whoami(tok); st != http.StatusOK || !strings.Contains(body, name) {
			t.Fatalf("token of %s: %d %s", name, st, body)
		}
	}

	// Rotation: ops is replaced by ops2 in the Secret.
	writeTokens("tokens:\n" + tokenLine("ops2", "gateway_admin", ops2Tok))
	until("the new file token accepted", func() bool { st, _ := whoami(ops2Tok); return st == http.StatusOK })
	if st, _ := whoami(opsTok); st != http.StatusUnauthorized {
		t.Errorf("a token removed from the file still logs in: %d", st)
	}
	if st, _ := whoami(cfgTok); st != http.StatusOK {
		t.Errorf("the config's token after the file changed: %d", st)
	}

	// A broken file: refused, counted, the previous set (ops2) stays.
	writeTokens("tokens:\n  - {name: ops3, role: root, hash: nope}\n")
	until("the refusal counted", func() bool {
		_, m := get(t, "http://"+d.addrs.Admin+"/metrics")
		return strings.Contains(m, `keygate_config_apply_failures_total{source="admin_tokens_file"} 1`)
	})
	if st, _ := whoami(ops2Tok); st != http.StatusOK {
		t.Errorf("after a refused file, the previous file token: %d", st)
	}

	// The config's token again in the file, as another principal: refused, ops2 stays.
	writeTokens("tokens:\n" + tokenLine("ops2", "gateway_admin", ops2Tok) + tokenLine("cfg-twin", "gateway_admin", cfgTok))
	until("the duplicate refused", func() bool {
		_, m := get(t, "http://"+d.addrs.Admin+"/metrics")
		return strings.Contains(m, `keygate_config_apply_failures_total{source="admin_tokens_file"} 2`)
	})
	if st, body := whoami(cfgTok); st != http.StatusOK || !strings.Contains(body, `"cfg"`) {
		t.Errorf("the config's token after a file naming it again: %d %s", st, body)
	}

	// Every file token revoked: an empty list is valid; the config's tokens remain.
	writeTokens("tokens: []\n")
	until("the file tokens revoked", func() bool { st, _ := whoami(ops2Tok); return st == http.StatusUnauthorized })
	if st, _ := whoami(cfgTok); st != http.StatusOK {
		t.Errorf("the config's token after the file emptied: %d", st)
	}
}
