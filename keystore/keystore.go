// Package keystore resolves secret references to secret values. Two backends implement it:
// Vault (production: KV v2 and Transit, cached with ristretto, stale-if-error) and a file
// (development only, high risk: keys sit on disk in clear).
//
// Consumers define the narrow interface they need (the signer needs only Getter); the backends
// implement a small core plus optional capabilities found by type assertion.
package keystore

import (
	"context"
	"errors"

	"github.com/keygate/keygate/internal/secret"
)

// Secret is a resolved KV secret field and the KV version it came from (0 for the file backend).
type Secret struct {
	Value   secret.Value
	Version int
}

// Getter resolves KV references. It is the core every backend implements.
type Getter interface {
	Get(ctx context.Context, ref Ref) (Secret, error)
}

// Peeker is the optional capability of answering without waiting: a value already cached and
// fresh, never a backend call, never a stale value (Cache.Get decides about those). A caller
// that must not block while it holds something (a script's processor slot) tries it first.
type Peeker interface {
	Peek(ref Ref) (Secret, bool)
}

// TransitSigner is the optional capability of computing with a key that never leaves the store.
// alg names the hash: "sha2-256", "sha2-512", "sha1" (Vault's names). Both return raw bytes
// (the HMAC, or the signature: PKCS#1 v1.5 for RSA keys, ASN.1 DER for ECDSA keys, raw for
// ed25519).
type TransitSigner interface {
	HMAC(ctx context.Context, ref Ref, alg string, data []byte) ([]byte, error)
	Sign(ctx context.Context, ref Ref, alg string, data []byte) ([]byte, error)
}

// Writer is the optional capability of writing a new secret version (KV v2 check-and-set).
// cas is the version the caller believes is current (0: the secret must not exist yet; -1: no
// check). It returns the new version. Values are write-only: nothing returns them to an admin.
type Writer interface {
	Put(ctx context.Context, mount, path string, fields map[string]secret.Value, cas int) (int, error)
}

// Checker is the optional capability of reporting readiness (Vault reachable and unsealed).
type Checker interface {
	Ready(ctx context.Context) error
}

// Errors every backend returns (wrapped, with the reference in the message, never the value).
var (
	ErrNotFound    = errors.New("secret not found")           // path, field or version missing
	ErrUnavailable = errors.New("keystore unavailable")       // unreachable, sealed, or past stale-if-error
	ErrDenied      = errors.New("keystore permission denied") // the policy forbids this path
	ErrCASMismatch = errors.New("check-and-set version mismatch")
)
