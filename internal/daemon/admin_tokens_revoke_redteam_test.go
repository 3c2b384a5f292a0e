package daemon

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keygate/keygate/internal/testkit"
)

// Red team: a gateway admin token leaks. The operator removes its line from admin.tokens and
// applies the config (the file, or POST /v1/config): a new version runs, and the leaked token
// still logged in as gateway admin, because the admin API read admin.tokens once, at start
// (only admin.tokens_file was followed). Until a restart, the leaked token could apply
// configs, mint tenant AppKeys and read every tenant. The running version's admin.tokens are
// the ones that log in.
func TestRedTeamRemovedAdminTokenStopsWorking(t *testing.T) {
	const rootTok, leakedTok = "kgadm_root-token-for-the-test-0001", "kgadm_leaked-token-for-the-test-02"
	dir, base := apiConfigDir(t)
	withTokens := func(lines string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, "keygate.yaml"), []byte(base+"admin:\n  tokens:\n"+lines), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	withTokens(tokenLine("root", "gateway_admin", rootTok) + tokenLine("leaked", "gateway_admin", leakedTok))
	d := startDaemon(t, dir)
	call := func(tok, path string) (int, http.Header, string) { return d.admin(t, tok, "GET", path, "") }
	if st, _, body := call(leakedTok, "/v1/whoami"); st != http.StatusOK {
		t.Fatalf("the token before its removal: %d %s", st, body)
	}
	_, h, _ := call(rootTok, "/v1/config")
	before := h.Get("ETag")

	withTokens(tokenLine("root", "gateway_admin", rootTok))
	for end := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if _, h, _ := call(rootTok, "/v1/config"); h.Get("ETag") != before {
			break
		}
		if time.Now().After(end) {
			t.Fatal("the config without the leaked token was not applied")
		}
	}
	if st, _, body := call(leakedTok, "/v1/whoami"); st != http.StatusUnauthorized || strings.Contains(body, `"leaked"`) {
		t.Fatalf("a token removed from admin.tokens still logs in: %d %s", st, body)
	}
	if st, _, body := call(rootTok, "/v1/whoami"); st != http.StatusOK {
		t.Fatalf("the remaining token: %d %s", st, body)
	}
}

// Red team, continued: with admin.tokens followed live, a gateway rollback to a version from
// before the revocation (to undo some provider change) would bring the leaked token back. As
// for tenant credentials, who may log in is not rolled back: admin.tokens stay as they are.
func TestRedTeamRollbackDoesNotRestoreARemovedAdminToken(t *testing.T) {
	const rootTok, leakedTok = "kgadm_root-token-for-the-test-0001", "kgadm_leaked-token-for-the-test-02"
	dir, base := apiConfigDir(t)
	cfg := func(lines string) string { return base + "admin:\n  tokens:\n" + lines }
	if err := os.WriteFile(filepath.Join(dir, "keygate.yaml"), []byte(cfg(tokenLine("root", "gateway_admin", rootTok)+tokenLine("leaked", "gateway_admin", leakedTok))), 0o600); err != nil {
		t.Fatal(err)
	}
	d := startDaemonWith(t, dir, Options{})
	do := func(tok, method, path, body string) (int, string) {
		st, _, b := d.admin(t, tok, method, path, body)
		return st, b
	}
	if st, body := do(rootTok, "POST", "/v1/config", cfg(tokenLine("root", "gateway_admin", rootTok))); st != http.StatusOK {
		t.Fatalf("revoking by a config apply: %d %s", st, body)
	}
	if st, _ := do(leakedTok, "GET", "/v1/whoami", ""); st != http.StatusUnauthorized {
		t.Fatalf("the revoked token after the apply: %d", st)
	}
	if st, body := do(rootTok, "POST", "/v1/config/rollback", `{"version": 1}`); st != http.StatusOK {
		t.Fatalf("rollback: %d %s", st, body)
	}
	if st, body := do(leakedTok, "GET", "/v1/whoami", ""); st != http.StatusUnauthorized {
		t.Fatalf("a gateway rollback brought a revoked admin token back: %d %s", st, body)
	}
	if st, _ := do(rootTok, "GET", "/v1/whoami", ""); st != http.StatusOK {
		t.Fatalf("the remaining token after the rollback: %d", st)
	}
}

// Red team: the identity provider behind admin.jwt is compromised (or a role claim was mapped
// too widely). The operator removes admin.jwt and applies the config: a new version runs, and
// JWTs from that issuer still logged in as gateway admin until a restart, because the
// verifier was built once at start. The running version's admin.jwt is the one that checks.
func TestRedTeamRemovedAdminJWTStopsWorking(t *testing.T) {
	const rootTok = "kgadm_root-token-for-the-test-0001"
	key := testkit.NewIssuerKey(t, "k1")
	dir, base := apiConfigDir(t)
	if err := os.WriteFile(filepath.Join(dir, "jwks.json"), testkit.JWKS(key), 0o600); err != nil {
		t.Fatal(err)
	}
	admin := "admin:\n  tokens:\n" + tokenLine("root", "gateway_admin", rootTok)
	jwt := "  jwt: {issuer: \"https://login.example.test\", audience: keygate-admin, jwks_file: jwks.json, algorithms: [ES256]}\n"
	if err := os.WriteFile(filepath.Join(dir, "keygate.yaml"), []byte(base+admin+jwt), 0o600); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, dir)
	do := func(tok, method, path, body string) (int, string) {
		st, _, b := d.admin(t, tok, method, path, body)
		return st, b
	}
	mint := func(aud string) string {
		return key.Mint(t, map[string]any{"iss": "https://login.example.test", "aud": aud, "sub": "ops@example.test",
			"exp": time.Now().Add(time.Hour).Unix(), "keygate_role": "gateway_admin"})
	}
	if st, body := do(mint("keygate-admin"), "GET", "/v1/whoami", ""); st != http.StatusOK {
		t.Fatalf("a JWT before admin.jwt changed: %d %s", st, body)
	}
	// A narrower audience: only tokens for it log in now.
	narrower := strings.Replace(jwt, "audience: keygate-admin", "audience: keygate-admin-2", 1)
	if st, body := do(rootTok, "POST", "/v1/config", base+admin+narrower); st != http.StatusOK {
		t.Fatalf("changing admin.jwt: %d %s", st, body)
	}
	if st, body := do(mint("keygate-admin"), "GET", "/v1/whoami", ""); st != http.StatusUnauthorized {
		t.Fatalf("a JWT for the audience admin.jwt no longer names: %d %s", st, body)
	}
	if st, body := do(mint("keygate-admin-2"), "GET", "/v1/whoami", ""); st != http.StatusOK {
		t.Fatalf("a JWT for the new audience: %d %s", st, body)
	}
	// admin.jwt removed: no JWT logs in.
	if st, body := do(rootTok, "POST", "/v1/config", base+admin); st != http.StatusOK {
		t.Fatalf("removing admin.jwt: %d %s", st, body)
	}
	if st, body := do(mint("keygate-admin-2"), "GET", "/v1/whoami", ""); st != http.StatusUnauthorized {
		t.Fatalf("a JWT after admin.jwt was removed: %d %s", st, body)
	}
}
