package testkit

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"testing"

	"github.com/go-jose/go-jose/v4"
)

// IssuerKey is a test OIDC issuer's ES256 signing key with its key ID: what the admin API's
// JWT login, the daemon's and the console's OIDC tests all sign with.
type IssuerKey struct {
	KID string
	Key *ecdsa.PrivateKey
}

// NewIssuerKey generates a P-256 key named kid.
func NewIssuerKey(t testing.TB, kid string) IssuerKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return IssuerKey{KID: kid, Key: k}
}

// JWKS is the JSON Web Key Set publishing keys' public halves, as an issuer's jwks_uri serves it.
func JWKS(keys ...IssuerKey) []byte {
	var set jose.JSONWebKeySet
	for _, k := range keys {
		set.Keys = append(set.Keys, jose.JSONWebKey{Key: &k.Key.PublicKey, KeyID: k.KID, Algorithm: "ES256", Use: "sig"})
	}
	b, err := json.Marshal(set)
	if err != nil {
		panic(err) // a key set of P-256 public keys always marshals
	}
	return b
}

// Mint signs claims, exactly as given, as a compact JWT (typ JWT, kid in the header).
func (k IssuerKey) Mint(t testing.TB, claims map[string]any) string {
	t.Helper()
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: k.Key},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", k.KID))
	if err != nil {
		t.Fatal(err)
	}
	jws, err := s.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	out, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return out
}
