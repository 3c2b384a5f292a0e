package tenancy

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/keygate/keygate/internal/failure"
	"github.com/keygate/keygate/internal/secret"
)

// AppKeyPrefix starts every AppKey keygate issues, so that leaked keys are easy to scan for.
const AppKeyPrefix = "kg_"

// HashPrefix starts a stored credential hash.
const HashPrefix = "sha256:"

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
func HashCredential(appKey secret.Value) string {
	sum := sha256.Sum256(appKey.Reveal())
	return HashPrefix + hex.EncodeToString(sum[:])
}

// parseHash decodes a stored "sha256:<hex>" hash.
func parseHash(s string) ([sha256.Size]byte, error) {
	var out [sha256.Size]byte
	h, ok := strings.CutPrefix(s, HashPrefix)
	if !ok {
		return out, fmt.Errorf("want %s<64 hex digits>", HashPrefix)
	}
	b, err := hex.DecodeString(h)
	if err != nil || len(b) != sha256.Size {
		return out, fmt.Errorf("want %s<64 hex digits>", HashPrefix)
	}
	copy(out[:], b)
	return out, nil
}
