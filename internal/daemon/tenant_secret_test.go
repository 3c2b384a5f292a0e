package daemon

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keygate/keygate/internal/admin"
	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/internal/secret"
	"github.com/keygate/keygate/internal/vaulttest"
	"github.com/keygate/keygate/internal/versions"
	"github.com/keygate/keygate/keystore"
	"github.com/keygate/keygate/xds"
)

const (
	betaSecret  = "BETA-ONLY-SECRET-9c1e"
	alphaSecret = "alpha-own-secret-77aa"
	alphaToken  = "TOKEN-alpha-admin-3b3b"
)

const twoTenants = `
keystore: {type: vault, vault: {address: "http://127.0.0.1:1", auth: {method: token}}}
tenants:
  - {name: alpha, credentials: [{id: k1, hash: "sha256:1111111111111111111111111111111111111111111111111111111111111111"}]}
  - {name: beta, credentials: [{id: k1, hash: "sha256:2222222222222222222222222222222222222222222222222222222222222222"}]}
providers:
  - name: alpha-pay
    tenant: alpha
    hosts: [alpha.egress.local]
    upstream: {url: "https://alpha.example"}
    secrets: {key: "secret/keygate/tenants/alpha/x#api_key"}
    signing: [{scheme: static, secret: key, in: header, name: X-Api-Key}]
  - name: beta-pay
    tenant: beta
    hosts: [beta.egress.local]
    upstream: {url: "https://beta.example"}
    secrets: {key: "secret/keygate/tenants/beta/x#api_key"}
    signing: [{scheme: static, secret: key, in: header, name: X-Api-Key}]
`

// TestTenantAdminCannotReadAnotherTenantsSecret is issue 14 case 1 against a real Vault: the
// admin of tenant alpha points its own provider at beta's secret through every spelling that a
// second parser (Vault's client cleans "..", Vault decodes escapes) could resolve to beta's path.
// Each apply is refused, through both entry points (PUT providers, POST config), and a revealed
// dry run of alpha's provider shows alpha's key, never beta's.
func TestTenantAdminCannotReadAnotherTenantsSecret(t *testing.T) {
	v := vaulttest.Start(t)
	ctx := context.Background()
	ks := config.Keystore{Type: "vault", Vault: &config.Vault{Address: v.Addr(),
		Auth: config.VaultAuth{Method: "token", TokenFile: vaulttest.WriteSecretFile(t, "token", v.RootToken())}}}
	a, store := openApp(t, ks)
	disk, err := versions.OpenDisk(filepath.Join(t.TempDir(), "versions"), 0)
	if err != nil {
		t.Fatal(err)
	}
	pub := &publisher{app: a, xds: xds.NewServer(nil), dir: t.TempDir()}
	m := versions.NewManager(versions.Options{Store: disk, Compile: pub.compile, Secrets: secretVersions{store}})
	v.WriteKV(t, "keygate/tenants/beta/x", map[string]string{"api_key": betaSecret})
	v.WriteKV(t, "keygate/tenants/alpha/x", map[string]string{"api_key": alphaSecret})
	if _, err := m.Apply(ctx, []byte(twoTenants), "root", "two tenants"); err != nil {
		t.Fatal(err)
	}
	opts := admin.Options{
		Tokens: []admin.Token{{Hash: admin.HashToken(secret.FromString(alphaToken)),
			Principal: admin.Principal{Name: "alpha-admin", Role: admin.RoleTenantAdmin, Tenant: "alpha"}}},
		Configs: m, DryRun: dryRunner{a},
	}
	if w, ok := a.Keystore.(keystore.Writer); ok {
		opts.Secrets = w
	}
	srv := httptest.NewServer(admin.New(opts))
	defer srv.Close()
	do := func(method, path, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctx, method, srv.URL+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+alphaToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if strings.Contains(string(b), betaSecret) {
			t.Fatalf("%s %s: the reply holds beta's secret", method, path)
		}
		return resp.StatusCode, string(b)
	}
	const own = "secret/keygate/tenants/alpha/x#api_key"
	attacks := []string{
		"secret/keygate/tenants/alpha/../beta/x#api_key",
		"secret/keygate/tenants/alpha/%2e%2e/beta/x#api_key",
		"secret/keygate/tenants/alpha/.%2E/beta/x#api_key",
		"secret/keygate/tenants/alpha/..%2fbeta/x#api_key",
		"secret/keygate/tenants/alpha/x/../../beta/x#api_key",
		"secret/keygate/tenants/alpha//../beta/x#api_key",
		"secret/keygate/tenants/alpha/./../beta/x#api_key",
		"secret/keygate/tenants/alpha\\..\\beta/x#api_key",
		"secret/keygate/tenants/alpha/..\\beta/x#api_key",
		"/secret/keygate/tenants/alpha/../beta/x#api_key",
		"secret/keygate/tenants/alpha/\x00/../beta/x#api_key",
		"secret/keygate/tenants/alphabeta/../beta/x#api_key",
		"secret/keygate/tenants/alpha/../beta/x#api_key@1",
		"secret/keygate/tenants/beta/x#api_key",
		"kv/keygate/tenants/alpha/x#api_key",
		"transit:transit/beta-key",
		"secret/keygate/tenants/Alpha/x#api_key",
		"secret/keygate/tenants/alpha#api_key",
		"secret/keygate/tenants/alpha/x#api_key\n",
		"secret/keygate/tenants/alpha/x#../api_key",
		"secret/keygate/tenants/alpha/x#api_key@0",
	}
	for _, ref := range attacks {
		provider := "- name: alpha-pay\n  hosts: [alpha.egress.local]\n  upstream: {url: \"https://alpha.example\"}\n" +
			"  secrets: {key: \"" + strings.ReplaceAll(strings.ReplaceAll(ref, `\`, `\\`), "\x00", `\0`) + "\"}\n" +
			"  signing: [{scheme: static, secret: key, in: header, name: X-Api-Key}]\n"
		if status, body := do("PUT", "/v1/tenants/alpha/providers", provider); status != http.StatusBadRequest && status != http.StatusForbidden {
			t.Errorf("PUT providers with %q: got %d, want 400 or 403: %s", ref, status, body)
		}
		whole := strings.Replace(twoTenants, `"`+own+`"`, `"`+strings.ReplaceAll(strings.ReplaceAll(ref, `\`, `\\`), "\x00", `\0`)+`"`, 1)
		if status, body := do("POST", "/v1/config", whole); status != http.StatusBadRequest && status != http.StatusForbidden {
			t.Errorf("POST config with %q: got %d, want 400 or 403: %s", ref, status, body)
		}
	}
	if cur, _ := m.Current(); cur.Number != 1 {
		t.Fatalf("an attack was applied: the config is at version %d", cur.Number)
	}
	status, body := do("POST", "/v1/tenants/alpha/providers/alpha-pay/sign?reveal=true", "GET /x HTTP/1.1\r\nHost: alpha.egress.local\r\n\r\n")
	if status != http.StatusOK || !strings.Contains(body, alphaSecret) {
		t.Fatalf("alpha's own revealed dry run: %d %s", status, body)
	}
}
