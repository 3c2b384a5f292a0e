package tenancy

import (
	"crypto/rand"
	"encoding/base64"

	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/internal/failure"
	"github.com/keygate/keygate/internal/secret"
)

// AppKeyPrefix starts every AppKey keygate issues, so that leaked keys are easy to scan for.
const AppKeyPrefix = "kg_"

// HashPrefix starts a stored credential hash.
const HashPrefix = config.HashPrefix

// IssueCredential makes a new AppKey (32 random bytes, base64url, prefixed "kg_") and the hash
// to store in the config. The AppKey itself is never stored: the caller hands it to the tenant
// once and keeps only the hash.
func IssueCredential() (appKey secret.Value, hash string, err error) {
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return secret.Value{}, "", failure.Wrap(failure.Internal, "tenant", err, "cannot generate an AppKey")
	}
	key := AppKeyPrefix + base64.RawURLEncoding.EncodeToString(raw[:])
	return secret.FromString(key), HashCredential(secret.FromString(key)), nil
}

// HashCredential is the stored form of an AppKey: "sha256:<hex>".
func HashCredential(appKey secret.Value) string { return config.Hash(appKey.Reveal()) }
