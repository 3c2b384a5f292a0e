package keystore_test

import (
	"context"
	"errors"
	"testing"

	"github.com/keygate/keygate/internal/failure"
	"github.com/keygate/keygate/internal/secret"
	"github.com/keygate/keygate/internal/vaulttest"
	"github.com/keygate/keygate/keystore"
)

func TestVaultKV(t *testing.T) {
	s := vaulttest.Shared(t)
	s.WriteKV(t, "keygate/kv", map[string]string{"app_secret": "kv-value-one"})
	s.WriteKV(t, "keygate/kv", map[string]string{"app_secret": "kv-value-two"})
	s.WriteKV(t, "keygate/deleted", map[string]string{"app_secret": "kv-value-gone"})
	s.DeleteKV(t, "keygate/deleted")
	v := openVault(t, s, nil, 0)
	ctx := context.Background()

	for _, tc := range []struct {
		ref, want string
		version   int
	}{
		{"secret/keygate/kv#app_secret", "kv-value-two", 2},
		{"secret/keygate/kv#app_secret@1", "kv-value-one", 1},
		{"secret/keygate/kv#app_secret@2", "kv-value-two", 2},
	} {
		t.Run(tc.ref, func(t *testing.T) {
			got, err := v.Get(ctx, mustRef(t, tc.ref))
			if err != nil {
				t.Fatalf("Get: %v", err)
			}
			if string(got.Value.Reveal()) != tc.want || got.Version != tc.version {
				t.Fatalf("Get %s: wrong value or version %d (want version %d)", tc.ref, got.Version, tc.version)
			}
		})
	}
	for _, tc := range []struct{ name, ref string }{
		{"missing field", "secret/keygate/kv#nope"},
		{"missing path", "secret/keygate/nothing-here#app_secret"},
		{"missing version", "secret/keygate/kv#app_secret@9"},
		{"deleted secret", "secret/keygate/deleted#app_secret"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := v.Get(ctx, mustRef(t, tc.ref))
			checkReadFailure(t, err, keystore.ErrNotFound, tc.ref, "kv-value")
			t.Logf("error: %v", err)
		})
	}
}

func TestVaultKVDenied(t *testing.T) {
	s := vaulttest.Shared(t)
	s.WriteKV(t, "other/team", map[string]string{"k": "not-yours"})
	roleID, secretID := s.AppRoleCreds(t)
	auth, err := keystore.NewAppRoleAuth("", roleID, vaulttest.WriteSecretFile(t, "sid", secretID), "")
	if err != nil {
		t.Fatal(err)
	}
	v := openVault(t, s, auth, 0)
	_, err = v.Get(context.Background(), mustRef(t, "secret/other/team#k"))
	checkReadFailure(t, err, keystore.ErrDenied, "secret/other/team#k", "not-yours")
}

func TestVaultPutCAS(t *testing.T) {
	s := vaulttest.Shared(t)
	v := openVault(t, s, nil, 0)
	ctx := context.Background()
	fields := map[string]secret.Value{"app_secret": secret.FromString("put-value")}
	for _, tc := range []struct {
		name         string
		cas, version int
		wantErr      error
	}{
		{"create with cas 0", 0, 1, nil},
		{"update with cas 1", 1, 2, nil},
		{"stale cas", 1, 0, keystore.ErrCASMismatch},
		{"create again with cas 0", 0, 0, keystore.ErrCASMismatch},
		{"no check", -1, 3, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := v.Put(ctx, "secret", "keygate/put", fields, tc.cas)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) || failure.KindOf(err) != failure.BadRequest {
					t.Fatalf("want %v as bad_request, got %v", tc.wantErr, err)
				}
				return
			}
			if err != nil || got != tc.version {
				t.Fatalf("Put: version %d, err %v; want version %d", got, err, tc.version)
			}
		})
	}
	got, err := v.Get(ctx, mustRef(t, "secret/keygate/put#app_secret"))
	if err != nil || got.Version != 3 || string(got.Value.Reveal()) != "put-value" {
		t.Fatalf("read back: version %d, err %v", got.Version, err)
	}
}
