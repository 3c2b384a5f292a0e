package app

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/hashicorp/vault/api"

	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/internal/failure"
	"github.com/keygate/keygate/internal/gateway"
	"github.com/keygate/keygate/internal/secret"
	"github.com/keygate/keygate/internal/vaulttest"
	"github.com/keygate/keygate/keystore"
	"github.com/keygate/keygate/signer"
)

// TestTenantVaultLogin: with keystore.vault.tenants.alpha set to a token holding only alpha's
// per-tenant policy, alpha's providers read their secrets with that token. A reference to
// beta's secret in an alpha provider (say, written by a gateway admin by mistake) fails closed
// with Vault's denial, while beta (no login of its own) reads with the gateway's login.
func TestTenantVaultLogin(t *testing.T) {
	v := vaulttest.Start(t)
	ctx := context.Background()
	v.WriteKV(t, "keygate/tenants/alpha/pay", map[string]string{"k": "alpha-value"})
	v.WriteKV(t, "keygate/tenants/beta/pay", map[string]string{"k": "beta-value"})
	root := v.Client()
	if err := root.Sys().PutPolicy("keygate-tenant-alpha", vaulttest.TenantPolicyFor("alpha")); err != nil {
		t.Fatal(err)
	}
	tok, err := root.Auth().Token().Create(&api.TokenCreateRequest{Policies: []string{"keygate-tenant-alpha"}})
	if err != nil {
		t.Fatal(err)
	}
	rootFile := vaulttest.WriteSecretFile(t, "root", v.RootToken())
	alphaFile := vaulttest.WriteSecretFile(t, "alpha", secret.FromString(tok.Auth.ClientToken))
	cfg := strings.NewReplacer("ADDR", v.Addr(), "ROOT", rootFile, "ALPHA", alphaFile).Replace(`
keystore:
  type: vault
  vault:
    address: ADDR
    auth: {method: token, token_file: ROOT}
    tenants:
      alpha: {method: token, token_file: ALPHA}
tenants: [{name: alpha}, {name: beta}]
providers:
  - {name: alpha-pay, tenant: alpha, hosts: [a.local], upstream: {url: "https://a"}, secrets: {k: "secret/keygate/tenants/alpha/pay#k"}}
  - {name: alpha-stolen, tenant: alpha, hosts: [s.local], upstream: {url: "https://s"}, secrets: {k: "secret/keygate/tenants/beta/pay#k"}}
  - {name: beta-pay, tenant: beta, hosts: [b.local], upstream: {url: "https://b"}, secrets: {k: "secret/keygate/tenants/beta/pay#k"}}
`)
	f, err := config.Parse([]byte(cfg))
	if err == nil {
		err = f.Validate()
	}
	if err != nil {
		t.Fatal(err)
	}
	a, err := New(ctx, f.Keystore, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	snap, err := a.Compile(f, gateway.Meta{})
	if err != nil {
		t.Fatal(err)
	}
	read := func(provider string) (string, error) {
		p, _ := snap.ProviderByName(provider)
		val, err := p.Keys.Secret(ctx, &signer.Exchange{}, "k")
		return string(val.Reveal()), err
	}
	if got, err := read("alpha-pay"); err != nil || got != "alpha-value" {
		t.Fatalf("alpha's own secret with alpha's login: %q %v", got, err)
	}
	if got, err := read("beta-pay"); err != nil || got != "beta-value" {
		t.Fatalf("beta's secret with the gateway's login: %q %v", got, err)
	}
	got, err := read("alpha-stolen")
	if err == nil || got != "" || !errors.Is(err, keystore.ErrDenied) || failure.Status(err) != 503 {
		t.Fatalf("beta's secret through an alpha provider: want a 503 with Vault's denial, got %v", err)
	}
	if strings.Contains(err.Error(), "beta-value") {
		t.Fatal("the error holds the secret")
	}
}
