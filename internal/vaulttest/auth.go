package vaulttest

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/keygate/keygate/internal/secret"
)

// AppRoleSecretID generates a new secret_id for an AppRole role.
func (s *Server) AppRoleSecretID(t testing.TB, role string) secret.Value {
	t.Helper()
	r, err := s.Client().Logical().Write("auth/approle/role/"+role+"/secret-id", nil)
	if err != nil || r == nil {
		t.Fatalf("vaulttest: new secret_id for %s: %v", role, err)
	}
	id, _ := r.Data["secret_id"].(string)
	return secret.FromString(id)
}

// AppRoleCreds returns the role_id and a fresh secret_id of the keygate role.
func (s *Server) AppRoleCreds(t testing.TB) (roleID string, secretID secret.Value) {
	t.Helper()
	r, err := s.Client().Logical().Read("auth/approle/role/" + Role + "/role-id")
	if err != nil || r == nil {
		t.Fatalf("vaulttest: read role_id: %v", err)
	}
	roleID, _ = r.Data["role_id"].(string)
	return roleID, s.AppRoleSecretID(t, Role)
}

// MintJWT signs (ES256, stdlib) a JWT the jwt/ auth mount accepts for role keygate.
func (s *Server) MintJWT(t testing.TB, subject string, ttl time.Duration) secret.Value {
	t.Helper()
	now := time.Now()
	header, _ := json.Marshal(map[string]string{"alg": "ES256", "typ": "JWT"})
	claims, _ := json.Marshal(map[string]any{
		"iss": JWTIssuer, "aud": JWTAudience, "sub": subject,
		"iat": now.Unix(), "nbf": now.Add(-time.Minute).Unix(), "exp": now.Add(ttl).Unix(),
	})
	enc := base64.RawURLEncoding
	signing := enc.EncodeToString(header) + "." + enc.EncodeToString(claims)
	digest := sha256.Sum256([]byte(signing))
	r, sg, err := ecdsa.Sign(rand.Reader, s.jwtKey, digest[:])
	if err != nil {
		t.Fatalf("vaulttest: sign JWT: %v", err)
	}
	sig := make([]byte, 64) // JWS ES256: fixed-width r || s
	r.FillBytes(sig[:32])
	sg.FillBytes(sig[32:])
	return secret.FromString(signing + "." + enc.EncodeToString(sig))
}

// WriteSecretFile writes v to a 0600 file in a test temp dir and returns its path (for auth
// methods that read credentials from files).
func WriteSecretFile(t testing.TB, name string, v secret.Value) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, v.Reveal(), 0o600); err != nil {
		t.Fatalf("vaulttest: write %s: %v", p, err)
	}
	return p
}
