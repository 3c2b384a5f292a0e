package keystore_test

import (
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/keygate/keygate/internal/failure"
	"github.com/keygate/keygate/internal/secret"
	"github.com/keygate/keygate/internal/vaulttest"
	"github.com/keygate/keygate/keystore"
)

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// openVault opens the Vault backend on s with auth (default: the root token from a file).
func openVault(t testing.TB, s *vaulttest.Server, auth keystore.VaultAuth, timeout time.Duration) *keystore.Vault {
	t.Helper()
	if auth == nil {
		auth = keystore.NewTokenAuth("", vaulttest.WriteSecretFile(t, "token", s.RootToken()))
	}
	v, err := keystore.NewVault(keystore.VaultOptions{Address: s.Addr(), Auth: auth, Timeout: timeout}, quietLog())
	if err != nil {
		t.Fatalf("NewVault: %v", err)
	}
	t.Cleanup(func() { _ = v.Close() })
	return v
}

func secretOf(s string) secret.Value { return secret.FromString(s) }

// checkReadyFailure: a 503 at stage keystore with ErrUnavailable, never showing the credential.
func checkReadyFailure(t testing.TB, err error, credential string) {
	t.Helper()
	if err == nil {
		t.Fatal("Ready: want an error")
	}
	if !errors.Is(err, keystore.ErrUnavailable) || failure.Status(err) != 503 || failure.StageOf(err) != "keystore" {
		t.Errorf("Ready error %q: want ErrUnavailable as 503 at stage keystore", err)
	}
	if credential != "" && strings.Contains(err.Error(), credential) {
		t.Errorf("Ready error shows the credential")
	}
}
