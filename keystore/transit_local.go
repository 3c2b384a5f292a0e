package keystore

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"hash"

	_ "crypto/sha1" // registered for crypto.SHA1
	_ "crypto/sha256"
	_ "crypto/sha512"

	"github.com/keygate/keygate/internal/secret"
)

// transitKey is a file keystore key used the way Vault Transit would use it, so transit
// references work in development. Computed locally with stdlib crypto.
type transitKey struct {
	typ  string       // hmac | rsa | ecdsa | ed25519
	hmac secret.Value // hmac
	priv crypto.Signer
}

func parseTransitKey(typ, key string) (transitKey, error) {
	switch typ {
	case "hmac":
		b, err := base64.StdEncoding.DecodeString(key)
		if err != nil || len(b) == 0 {
			return transitKey{}, errors.New("hmac key: want standard base64")
		}
		return transitKey{typ: typ, hmac: secret.New(b)}, nil
	case "rsa", "ecdsa", "ed25519":
		block, _ := pem.Decode([]byte(key))
		if block == nil {
			return transitKey{}, fmt.Errorf("%s key: want a PEM private key", typ)
		}
		priv, err := parsePrivateKey(block.Bytes)
		if err != nil {
			return transitKey{}, fmt.Errorf("%s key: %w", typ, err)
		}
		ok := false
		switch priv.(type) {
		case *rsa.PrivateKey:
			ok = typ == "rsa"
		case *ecdsa.PrivateKey:
			ok = typ == "ecdsa"
		case ed25519.PrivateKey:
			ok = typ == "ed25519"
		}
		if !ok {
			return transitKey{}, fmt.Errorf("%s key: the PEM holds another key type", typ)
		}
		return transitKey{typ: typ, priv: priv}, nil
	}
	return transitKey{}, fmt.Errorf("type %q is not one of hmac, rsa, ecdsa, ed25519", typ)
}

func parsePrivateKey(der []byte) (crypto.Signer, error) {
	if k, err := x509.ParsePKCS8PrivateKey(der); err == nil {
		if s, ok := k.(crypto.Signer); ok {
			return s, nil
		}
	}
	if k, err := x509.ParsePKCS1PrivateKey(der); err == nil {
		return k, nil
	}
	if k, err := x509.ParseECPrivateKey(der); err == nil {
		return k, nil
	}
	return nil, errors.New("not a PKCS#8, PKCS#1 or SEC 1 private key")
}

// transitHash maps Vault's hash names to stdlib hashes.
func transitHash(alg string) (crypto.Hash, error) {
	switch alg {
	case "sha1":
		return crypto.SHA1, nil
	case "sha2-224":
		return crypto.SHA224, nil
	case "sha2-256":
		return crypto.SHA256, nil
	case "sha2-384":
		return crypto.SHA384, nil
	case "sha2-512":
		return crypto.SHA512, nil
	}
	return 0, fmt.Errorf("hash %q is not one of sha1, sha2-224, sha2-256, sha2-384, sha2-512", alg)
}

func (f *File) transitKey(ref Ref) (transitKey, error) {
	if ref.Kind != Transit {
		return transitKey{}, readFailure(ref, ErrNotFound, "not a transit reference")
	}
	f.fresh()
	f.mu.RLock()
	k, ok := f.keys[ref.Mount+"/"+ref.Path]
	f.mu.RUnlock()
	if !ok {
		return transitKey{}, readFailure(ref, ErrNotFound, fmt.Sprintf("no transit key %q in file keystore %s", ref.Mount+"/"+ref.Path, f.path))
	}
	return k, nil
}

// HMAC computes the HMAC locally, as transit/hmac would.
func (f *File) HMAC(_ context.Context, ref Ref, alg string, data []byte) ([]byte, error) {
	k, err := f.transitKey(ref)
	if err != nil {
		return nil, err
	}
	if k.typ != "hmac" {
		return nil, readFailure(ref, ErrNotFound, "key type "+k.typ+" cannot HMAC")
	}
	h, err := transitHash(alg)
	if err != nil {
		return nil, readFailure(ref, ErrNotFound, err.Error())
	}
	m := hmac.New(func() hash.Hash { return h.New() }, k.hmac.Reveal())
	m.Write(data)
	return m.Sum(nil), nil
}

// Sign signs locally, as transit/sign would: PKCS#1 v1.5 for RSA, ASN.1 DER for ECDSA, raw
// ed25519 (alg ignored).
func (f *File) Sign(_ context.Context, ref Ref, alg string, data []byte) ([]byte, error) {
	k, err := f.transitKey(ref)
	if err != nil {
		return nil, err
	}
	if k.typ == "hmac" {
		return nil, readFailure(ref, ErrNotFound, "an hmac key cannot sign")
	}
	if k.typ == "ed25519" {
		return signed(ref)(k.priv.Sign(rand.Reader, data, crypto.Hash(0)))
	}
	h, err := transitHash(alg)
	if err != nil {
		return nil, readFailure(ref, ErrNotFound, err.Error())
	}
	d := h.New()
	d.Write(data)
	digest := d.Sum(nil)
	switch p := k.priv.(type) {
	case *rsa.PrivateKey:
		return signed(ref)(rsa.SignPKCS1v15(rand.Reader, p, h, digest))
	case *ecdsa.PrivateKey:
		return signed(ref)(ecdsa.SignASN1(rand.Reader, p, digest))
	}
	return nil, readFailure(ref, ErrNotFound, "unsupported key type "+k.typ)
}

// signed classifies a stdlib signing error (e.g. a hash too long for the RSA key size).
func signed(ref Ref) func([]byte, error) ([]byte, error) {
	return func(sig []byte, err error) ([]byte, error) {
		if err != nil {
			return nil, readFailure(ref, ErrNotFound, "local signing failed: "+err.Error())
		}
		return sig, nil
	}
}
