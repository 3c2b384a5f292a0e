package console

import (
	"fmt"
	"strings"
	"testing"

	"github.com/keygate/keygate/internal/vaulttest"
)

// TestPinnedVersionsFromVault: with keys in a real Vault (KV v2), the providers page shows
// each reference with the version the running config pins, for a developer as for an admin,
// and still no value.
func TestPinnedVersionsFromVault(t *testing.T) {
	v := vaulttest.Start(t)
	v.WriteKV(t, "keygate/tenants/acme/demo", map[string]string{"app_secret": "old-" + secretValues["app_secret"],
		"aes_key": secretValues["aes_key"], "aes_iv": secretValues["aes_iv"]})
	v.WriteKV(t, "keygate/tenants/acme/demo", map[string]string{"app_secret": secretValues["app_secret"],
		"aes_key": secretValues["aes_key"], "aes_iv": secretValues["aes_iv"]}) // version 2
	v.WriteKV(t, "keygate/tenants/acme/static", map[string]string{"api_key": secretValues["acme_key"]})
	v.WriteKV(t, "keygate/tenants/globex/static", map[string]string{"api_key": secretValues["globex_key"]})
	ks := fmt.Sprintf("keystore: {type: vault, vault: {address: %q, auth: {method: token, token_file: %q}}}",
		v.Addr(), vaulttest.WriteSecretFile(t, "token", v.RootToken()))
	g := startGatewayWith(t, ks)
	browser := newBrowser(t)
	tb := newTab(t, browser, g.url)
	tb.login(acmeDev)
	page := tb.text("#providers")
	for _, want := range []string{"secret/keygate/tenants/acme/demo#app_secret", "pinned v2", "secret/keygate/tenants/acme/static#api_key", "pinned v1"} {
		if !strings.Contains(page, want) {
			t.Errorf("providers page lacks %q:\n%s", want, page)
		}
	}
	tb.noLeak("providers with Vault")
	if strings.Contains(tb.html(), "old-") {
		t.Fatal("the page holds the old secret version's value")
	}
	tb.shot("providers-vault-pins")
	tb.noProblems()
}
