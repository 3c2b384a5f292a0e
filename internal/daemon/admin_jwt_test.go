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

// TestServeAdminJWTLogin: `keygate serve` with admin.jwt (a JWKS file next to the config)
// accepts a JWT from that issuer on the admin API, and refuses one for another audience.
func TestServeAdminJWTLogin(t *testing.T) {
	key := testkit.NewIssuerKey(t, "k1")
	dir := t.TempDir()
	jwks := testkit.JWKS(key)
	files := map[string]string{
		"keys.yaml": "secret/keygate/api:\n  key: daemon-test-key-value\n",
		"jwks.json": string(jwks),
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	writeConfig(t, dir, "https://api.example.test", "v1")
	cfg, _ := os.ReadFile(filepath.Join(dir, "keygate.yaml"))
	cfg = append(cfg, []byte("admin:\n  jwt: {issuer: \"https://login.example.test\", audience: keygate-admin, jwks_file: jwks.json, algorithms: [ES256]}\n")...)
	if err := os.WriteFile(filepath.Join(dir, "keygate.yaml"), cfg, 0o600); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, dir)

	mint := func(aud string) string {
		return key.Mint(t, map[string]any{"iss": "https://login.example.test", "aud": aud, "sub": "ops@example.test",
			"exp": time.Now().Add(time.Hour).Unix(), "keygate_role": "gateway_admin"})
	}
	whoami := func(tok string) (int, string) {
		st, _, b := d.admin(t, tok, "GET", "/v1/whoami", "")
		return st, b
	}
	if st, body := whoami(mint("keygate-admin")); st != http.StatusOK || !strings.Contains(body, "jwt:ops@example.test") {
		t.Fatalf("a JWT from the configured issuer: %d %s", st, body)
	}
	if st, body := whoami(mint("another-app")); st != http.StatusUnauthorized {
		t.Fatalf("a JWT for another audience: %d %s", st, body)
	}
}
