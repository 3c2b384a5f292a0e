package fromconfig_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/keystore"
	"github.com/keygate/keygate/keystore/fromconfig"
)

func TestOpen(t *testing.T) {
	p := filepath.Join(t.TempDir(), "keys.yaml")
	if err := os.WriteFile(p, []byte("secret/keygate/demo:\n  k: v\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, tc := range []struct {
		name    string
		cfg     config.Keystore
		wantErr string
	}{
		{"file", config.Keystore{Type: "file", File: &config.FileStore{Path: p}}, ""},
		{"file without path", config.Keystore{Type: "file"}, "keystore.file.path"},
		{"unknown type", config.Keystore{Type: "s3"}, "not one of file, vault"},
		{"vault without section", config.Keystore{Type: "vault"}, "keystore.vault is required"},
		{"approle without role_id", config.Keystore{Type: "vault", Vault: &config.Vault{
			Address: "http://127.0.0.1:1", Auth: config.VaultAuth{Method: "approle", SecretIDEnv: "X"}}}, "role_id"},
		{"jwt without role", config.Keystore{Type: "vault", Vault: &config.Vault{
			Address: "http://127.0.0.1:1", Auth: config.VaultAuth{Method: "jwt", JWTFile: "/x"}}}, "role"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, err := fromconfig.Open(context.Background(), tc.cfg, log)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("want error containing %q, got %v", tc.wantErr, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			if _, err := st.Get(context.Background(), keystore.Ref{Kind: keystore.KV, Mount: "secret", Path: "keygate/demo", Field: "k"}); err != nil {
				t.Fatal(err)
			}
		})
	}
}
