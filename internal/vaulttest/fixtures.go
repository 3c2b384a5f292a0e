package vaulttest

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"
)

// Policy is the policy keygate needs, as docs/vault.md documents it (a test checks they match).
// Roles set up here (approle/keygate, jwt/keygate) carry it.
const Policy = `# keygate: read provider secrets (KV v2) and their versions
path "secret/data/keygate/*" {
  capabilities = ["read"]
}
path "secret/metadata/keygate/*" {
  capabilities = ["read", "list"]
}

# keygate: compute with Transit keys that never leave Vault
path "transit/hmac/*" {
  capabilities = ["update"]
}
path "transit/sign/*" {
  capabilities = ["update"]
}

# keygate: share provider access tokens across the fleet
path "secret/data/keygate-tokens/*" {
  capabilities = ["create", "read", "update"]
}
path "secret/metadata/keygate-tokens/*" {
  capabilities = ["read"]
}

# keygate: config versions shared by the fleet (state.shared_in_vault); old versions are pruned
path "secret/data/keygate-config/*" {
  capabilities = ["create", "read", "update"]
}
path "secret/metadata/keygate-config/*" {
  capabilities = ["read", "list", "delete"]
}
`

// AdminPolicy is what the admin API additionally needs to rotate keys (KV v2 writes with CAS).
const AdminPolicy = `# keygate admin: write new secret versions (check-and-set)
path "secret/data/keygate/*" {
  capabilities = ["create", "read", "update"]
}
`

// TenantPolicy is the per-tenant policy docs/vault.md documents, templated on the tenant
// (TenantPolicyFor fills it in): read only the tenant's own provider secrets.
const TenantPolicy = `# keygate, tenant TENANT: read only this tenant's provider secrets
path "secret/data/keygate/tenants/TENANT/*" {
  capabilities = ["read"]
}
path "secret/metadata/keygate/tenants/TENANT/*" {
  capabilities = ["read", "list"]
}
`

// TenantPolicyFor is TenantPolicy for tenant.
func TenantPolicyFor(tenant string) string { return strings.ReplaceAll(TenantPolicy, "TENANT", tenant) }

// Role is the name of the AppRole and JWT roles that carry Policy.
const Role = "keygate"

// JWTAudience and JWTIssuer are what the jwt/ auth mount accepts.
const (
	JWTAudience = "keygate"
	JWTIssuer   = "https://vaulttest.keygate.invalid"
)

// setup enables Transit, AppRole and JWT auth and writes the policies. KV v2 is already at
// secret/ in dev mode.
func (s *Server) setup() error {
	c := s.Client()
	sys := c.Sys()
	if err := sys.PutPolicy("keygate", Policy); err != nil {
		return err
	}
	if err := sys.PutPolicy("keygate-admin", AdminPolicy); err != nil {
		return err
	}
	if err := sys.Mount("transit", &api.MountInput{Type: "transit"}); err != nil {
		return err
	}
	if err := sys.EnableAuthWithOptions("approle", &api.EnableAuthOptions{Type: "approle"}); err != nil {
		return err
	}
	if err := sys.EnableAuthWithOptions("jwt", &api.EnableAuthOptions{Type: "jwt"}); err != nil {
		return err
	}
	der, err := x509.MarshalPKIXPublicKey(&s.jwtKey.PublicKey)
	if err != nil {
		return err
	}
	pub := string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	writes := []struct {
		path string
		data map[string]any
	}{
		{"auth/approle/role/" + Role, map[string]any{"token_policies": "keygate", "token_ttl": "1h"}},
		{"auth/jwt/config", map[string]any{"jwt_validation_pubkeys": []string{pub}, "bound_issuer": JWTIssuer}},
		{"auth/jwt/role/" + Role, map[string]any{
			"role_type": "jwt", "bound_audiences": []string{JWTAudience}, "user_claim": "sub",
			"token_policies": "keygate", "token_ttl": "1h",
		}},
	}
	for _, w := range writes {
		if _, err := c.Logical().Write(w.path, w.data); err != nil {
			return fmt.Errorf("write %s: %w", w.path, err)
		}
	}
	return nil
}

// CreateAppRole creates an AppRole role with the given policies and token TTLs (0: Vault's
// defaults) and returns its role_id. Use AppRoleSecretID for a secret_id.
func (s *Server) CreateAppRole(t testing.TB, name string, policies []string, ttl, maxTTL time.Duration) string {
	t.Helper()
	data := map[string]any{"token_policies": policies}
	if ttl > 0 {
		data["token_ttl"] = ttl.String()
	}
	if maxTTL > 0 {
		data["token_max_ttl"] = maxTTL.String()
	}
	c := s.Client()
	if _, err := c.Logical().Write("auth/approle/role/"+name, data); err != nil {
		t.Fatalf("vaulttest: create approle role %s: %v", name, err)
	}
	r, err := c.Logical().Read("auth/approle/role/" + name + "/role-id")
	if err != nil || r == nil {
		t.Fatalf("vaulttest: read role_id of %s: %v", name, err)
	}
	id, _ := r.Data["role_id"].(string)
	return id
}
