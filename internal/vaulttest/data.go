package vaulttest

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"testing"

	"github.com/keygate/keygate/internal/secret"
)

// WriteKV writes a new version of secret/<path> (KV v2) and returns its version.
func (s *Server) WriteKV(t testing.TB, path string, fields map[string]string) int {
	t.Helper()
	data := make(map[string]any, len(fields))
	for k, v := range fields {
		data[k] = v
	}
	kv, err := s.Client().KVv2("secret").Put(context.Background(), path, data)
	if err != nil {
		t.Fatalf("vaulttest: write secret/%s: %v", path, err)
	}
	return kv.VersionMetadata.Version
}

// DeleteKV soft-deletes the latest version of secret/<path>.
func (s *Server) DeleteKV(t testing.TB, path string) {
	t.Helper()
	if err := s.Client().KVv2("secret").Delete(context.Background(), path); err != nil {
		t.Fatalf("vaulttest: delete secret/%s: %v", path, err)
	}
}

// CreateTransitKey creates transit/keys/<name> of a Vault key type: "hmac", "rsa-2048",
// "ecdsa-p256", "ed25519", ...
func (s *Server) CreateTransitKey(t testing.TB, name, keyType string) {
	t.Helper()
	body := map[string]any{"type": keyType}
	if keyType == "hmac" { // exportable so tests can check MACs locally (ExportHMACKey)
		body["key_size"], body["exportable"] = 32, true
	}
	if _, err := s.Client().Logical().Write("transit/keys/"+name, body); err != nil {
		t.Fatalf("vaulttest: create transit key %s (%s): %v", name, keyType, err)
	}
}

// ExportHMACKey exports version 1 of an hmac transit key made by CreateTransitKey.
func (s *Server) ExportHMACKey(t testing.TB, name string) secret.Value {
	t.Helper()
	r, err := s.Client().Logical().Read("transit/export/hmac-key/" + name + "/1")
	if err != nil || r == nil {
		t.Fatalf("vaulttest: export hmac key %s: %v", name, err)
	}
	keys, _ := r.Data["keys"].(map[string]any)
	k, _ := keys["1"].(string)
	b, err := base64.StdEncoding.DecodeString(k)
	if err != nil {
		b = []byte(k) // older Vaults export the raw string
	}
	return secret.New(b)
}

// TransitPublicKey reads version 1 of an asymmetric transit key's public key.
func (s *Server) TransitPublicKey(t testing.TB, name string) crypto.PublicKey {
	t.Helper()
	r, err := s.Client().Logical().Read("transit/keys/" + name)
	if err != nil || r == nil {
		t.Fatalf("vaulttest: read transit key %s: %v", name, err)
	}
	keys, _ := r.Data["keys"].(map[string]any)
	v1, _ := keys["1"].(map[string]any)
	pub, _ := v1["public_key"].(string)
	if r.Data["type"] == "ed25519" {
		b, err := base64.StdEncoding.DecodeString(pub)
		if err != nil {
			t.Fatalf("vaulttest: transit key %s: ed25519 public key: %v", name, err)
		}
		return ed25519.PublicKey(b)
	}
	block, _ := pem.Decode([]byte(pub))
	if block == nil {
		t.Fatalf("vaulttest: transit key %s has no PEM public key", name)
	}
	k, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		t.Fatalf("vaulttest: transit key %s: %v", name, err)
	}
	return k
}
