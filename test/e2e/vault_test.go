package e2e

import (
	"context"
	"testing"

	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/internal/devstack"
	"github.com/keygate/keygate/internal/vaulttest"
	"github.com/keygate/keygate/keystore/fromconfig"
)

// TestSimpleSigningWithKeysInVault is the walking skeleton with the production keystore: the
// demo keys live in a real Vault dev server (KV v2), keygate logs in with a token file and reads
// them through the ristretto cache, and the provider accepts what keygate signed.
func TestSimpleSigningWithKeysInVault(t *testing.T) {
	v := vaulttest.Start(t)
	c := devstack.DemoCredentials
	v.WriteKV(t, "keygate/demo", map[string]string{
		"app_secret": c.AppSecret, "aes_key": string(c.AESKey), "aes_iv": string(c.AESIV),
	})
	store, err := fromconfig.Open(context.Background(), config.Keystore{Type: "vault", Vault: &config.Vault{
		Address: v.Addr(),
		Auth:    config.VaultAuth{Method: "token", TokenFile: vaulttest.WriteSecretFile(t, "token", v.RootToken())},
	}}, nil)
	if err != nil {
		t.Fatalf("open vault keystore: %v", err)
	}
	t.Cleanup(func() { _ = store.Close() })

	s := startStack(t, devstack.Options{Keystore: store})
	for i := range 3 {
		status, _, body := call(t, s, "POST", "demo.egress.local", "/orders",
			`{"data":"{\"amount\":100}","timestamp":"1700000000"}`, nil)
		if status != 200 {
			t.Fatalf("request %d: status %d: %s", i, status, body)
		}
	}
	if n := s.Provider.Stats.Accepted.Load(); n != 3 {
		t.Errorf("provider accepted %d of 3 requests", n)
	}
}
