package keystore_test

import (
	"context"
	"errors"
	"testing"

	"github.com/hashicorp/vault/api"

	"github.com/keygate/keygate/internal/secret"
	"github.com/keygate/keygate/internal/vaulttest"
	"github.com/keygate/keygate/keystore"
)

// TestTenantPolicyLimitsAToken: with a token holding only the documented per-tenant policy for
// alpha (docs/vault.md, "A policy per tenant"), keygate's Vault backend reads alpha's secret and
// is denied beta's; and Vault itself denies beta's secret to that token whatever the spelling a
// client resolves to beta's path (defence in depth behind canonical references).
func TestTenantPolicyLimitsAToken(t *testing.T) {
	s := vaulttest.Shared(t)
	ctx := context.Background()
	s.WriteKV(t, "keygate/tenants/alpha/pay", map[string]string{"k": "alpha-value"})
	s.WriteKV(t, "keygate/tenants/beta/pay", map[string]string{"k": "beta-value"})
	root := s.Client()
	if err := root.Sys().PutPolicy("keygate-tenant-alpha", vaulttest.TenantPolicyFor("alpha")); err != nil {
		t.Fatal(err)
	}
	tok, err := root.Auth().Token().Create(&api.TokenCreateRequest{Policies: []string{"keygate-tenant-alpha"}})
	if err != nil {
		t.Fatal(err)
	}
	v := openVault(t, s, keystore.NewTokenAuth("", vaulttest.WriteSecretFile(t, "alpha-token", secret.FromString(tok.Auth.ClientToken))), 0)
	if got, err := v.Get(ctx, mustRef(t, "secret/keygate/tenants/alpha/pay#k")); err != nil || string(got.Value.Reveal()) != "alpha-value" {
		t.Fatalf("alpha's own secret: %v", err)
	}
	if _, err := v.Get(ctx, mustRef(t, "secret/keygate/tenants/beta/pay#k")); !errors.Is(err, keystore.ErrDenied) {
		t.Fatalf("beta's secret with alpha's token: want ErrDenied, got %v", err)
	}
	c, err := api.NewClient(&api.Config{Address: s.Addr()})
	if err != nil {
		t.Fatal(err)
	}
	c.SetToken(tok.Auth.ClientToken)
	for _, p := range []string{"secret/data/keygate/tenants/alpha/../beta/pay", "secret/data/keygate/tenants/beta/pay"} {
		if sec, err := c.Logical().Read(p); err == nil && sec != nil {
			t.Fatalf("%s: read with alpha's token", p)
		}
	}
}
