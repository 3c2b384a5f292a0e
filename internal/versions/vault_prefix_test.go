package versions

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/keygate/keygate/internal/vaulttest"
)

// TestVaultStoresWithDifferentPrefixesAreSeparate: two keygate deployments sharing a Vault
// mount keep their versions apart by prefix: what one stores, the other does not see.
func TestVaultStoresWithDifferentPrefixesAreSeparate(t *testing.T) {
	ctx := context.Background()
	srv := vaulttest.Shared(t)
	base := "keygate-config-test/" + strings.ReplaceAll(t.Name(), "/", "_")
	a := NewVaultStore(srv.Client(), VaultOptions{Prefix: base + "-a", Keep: 3})
	b := NewVaultStore(srv.Client(), VaultOptions{Prefix: base + "-b", Keep: 3})
	if err := a.Put(ctx, Version{Number: 1, Config: testConfig("a")}, 0); err != nil {
		t.Fatal(err)
	}
	if v, err := b.Latest(ctx); !errors.Is(err, ErrNotFound) {
		t.Fatalf("the other prefix sees version %d (%v), want nothing stored", v.Number, err)
	}
}

// TestVaultStoreKeepZeroIsTheDefault: an unset keep (0) keeps DefaultKeep versions, not none.
func TestVaultStoreKeepZeroIsTheDefault(t *testing.T) {
	ctx := context.Background()
	srv := vaulttest.Shared(t)
	s := NewVaultStore(srv.Client(), VaultOptions{Prefix: "keygate-config-test/" + strings.ReplaceAll(t.Name(), "/", "_")})
	for n := 1; n <= 3; n++ {
		if err := s.Put(ctx, Version{Number: n, Config: testConfig("a")}, n-1); err != nil {
			t.Fatal(err)
		}
	}
	if vs, err := s.List(ctx); err != nil || len(vs) != 3 {
		t.Fatalf("List = %d versions, %v; want all 3 kept", len(vs), err)
	}
}
