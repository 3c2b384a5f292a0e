package keystore_test

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/keygate/keygate/internal/vaulttest"
	"github.com/keygate/keygate/keystore"
)

func TestVaultAuthMethods(t *testing.T) {
	s := vaulttest.Shared(t)
	s.WriteKV(t, "keygate/auth", map[string]string{"k": "auth-value"})
	for _, tc := range []struct {
		name string
		auth func(t *testing.T) keystore.VaultAuth
	}{
		{"token", func(t *testing.T) keystore.VaultAuth {
			return keystore.NewTokenAuth("", vaulttest.WriteSecretFile(t, "token", s.RootToken()))
		}},
		{"token env", func(t *testing.T) keystore.VaultAuth {
			t.Setenv("KEYGATE_TEST_VAULT_TOKEN", string(s.RootToken().Reveal()))
			return keystore.NewTokenAuth("KEYGATE_TEST_VAULT_TOKEN", "")
		}},
		{"token from VAULT_TOKEN, the default", func(t *testing.T) keystore.VaultAuth {
			t.Setenv("VAULT_TOKEN", string(s.RootToken().Reveal()))
			return keystore.NewTokenAuth("", "")
		}},
		{"approle, secret_id from the environment", func(t *testing.T) keystore.VaultAuth {
			roleID, secretID := s.AppRoleCreds(t)
			t.Setenv("KEYGATE_TEST_SECRET_ID", string(secretID.Reveal()))
			a, err := keystore.NewAppRoleAuth("approle", roleID, "", "KEYGATE_TEST_SECRET_ID")
			if err != nil {
				t.Fatal(err)
			}
			return a
		}},
		{"jwt at the default mount", func(t *testing.T) keystore.VaultAuth {
			a, err := keystore.NewJWTAuth("", vaulttest.Role, vaulttest.WriteSecretFile(t, "jwt", s.MintJWT(t, "keygate-pod", time.Hour)))
			if err != nil {
				t.Fatal(err)
			}
			return a
		}},
		{"approle", func(t *testing.T) keystore.VaultAuth {
			roleID, secretID := s.AppRoleCreds(t)
			a, err := keystore.NewAppRoleAuth("approle", roleID, vaulttest.WriteSecretFile(t, "sid", secretID), "")
			if err != nil {
				t.Fatal(err)
			}
			return a
		}},
		{"jwt", func(t *testing.T) keystore.VaultAuth {
			a, err := keystore.NewJWTAuth("jwt", vaulttest.Role, vaulttest.WriteSecretFile(t, "jwt", s.MintJWT(t, "keygate-pod", time.Hour)))
			if err != nil {
				t.Fatal(err)
			}
			return a
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := openVault(t, s, tc.auth(t), 0)
			if err := v.Ready(context.Background()); err != nil {
				t.Fatalf("Ready: %v", err)
			}
			got, err := v.Get(context.Background(), mustRef(t, "secret/keygate/auth#k"))
			if err != nil || string(got.Value.Reveal()) != "auth-value" {
				t.Fatalf("Get after %s login: %v", tc.name, err)
			}
		})
	}
	t.Run("bad credentials: not ready, clear error", func(t *testing.T) {
		v := openVault(t, s, keystore.NewTokenAuth("", vaulttest.WriteSecretFile(t, "token", secretOf("wrong-token"))), 0)
		err := v.Ready(context.Background())
		checkReadyFailure(t, err, "wrong-token")
		t.Logf("Ready: %v", err)
	})
}

// TestVaultRenewalAndRelogin: a token with a 2s TTL and 4s max TTL is renewed, then replaced by
// a new login; after Close no goroutine is left behind.
func TestVaultRenewalAndRelogin(t *testing.T) {
	s := vaulttest.Shared(t)
	s.WriteKV(t, "keygate/renew", map[string]string{"k": "renew-value"})
	roleID := s.CreateAppRole(t, "short", []string{"keygate"}, 2*time.Second, 4*time.Second)
	sid := vaulttest.WriteSecretFile(t, "sid", s.AppRoleSecretID(t, "short"))
	auth, err := keystore.NewAppRoleAuth("", roleID, sid, "")
	if err != nil {
		t.Fatal(err)
	}
	before := runtime.NumGoroutine()
	v, err := keystore.NewVault(keystore.VaultOptions{Address: s.Addr(), Auth: auth}, quietLog())
	if err != nil {
		t.Fatal(err)
	}
	// The secret_id is single-use-unlimited by default, so re-login with the same file works.
	var ok, failed int
	for range 14 { // ~7s: past the 4s max TTL, so at least one re-login happened
		if _, err := v.Get(context.Background(), mustRef(t, "secret/keygate/renew#k")); err != nil {
			failed++
			t.Logf("Get: %v", err)
		} else {
			ok++
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Logf("reads across renewals and re-login: %d ok, %d failed", ok, failed)
	if failed > 0 {
		t.Fatalf("%d reads failed across token renewal/re-login", failed)
	}
	if err := v.Close(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		buf := make([]byte, 1<<16)
		t.Fatalf("goroutines leaked after Close: %d > %d\n%s", n, before, buf[:runtime.Stack(buf, true)])
	}
}
