package signer

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"sync"

	"github.com/keygate/keygate/internal/failure"
	"github.com/keygate/keygate/keystore"
)

// maxParsedKeys bounds the parsed-key cache of one config version. Versions only grow with
// rotations, so the bound is a safety net: when reached the cache starts over.
const maxParsedKeys = 64

// privateKeyCache holds parsed private keys per (reference, version). The PEM bytes are kept
// beside the key: a file keystore reports version 0 for every content, so a changed PEM under
// the same version is detected by comparing bytes and parsed again.
type privateKeyCache struct {
	mu   sync.Mutex
	keys map[string]parsedKey
}

type parsedKey struct {
	pem []byte
	key crypto.Signer
}

func newPrivateKeyCache() *privateKeyCache { return &privateKeyCache{keys: map[string]parsedKey{}} }

func (c *privateKeyCache) get(ref keystore.Ref, s keystore.Secret) (crypto.Signer, error) {
	id := cacheID(ref, s.Version)
	raw := s.Value.Reveal()
	c.mu.Lock()
	p, ok := c.keys[id]
	c.mu.Unlock()
	if ok && bytes.Equal(p.pem, raw) {
		return p.key, nil
	}
	key, err := ParsePrivateKeyPEM(raw)
	if err != nil {
		return nil, failure.Wrap(failure.Internal, "sign", err, "private key "+ref.String())
	}
	c.mu.Lock()
	if len(c.keys) >= maxParsedKeys {
		c.keys = map[string]parsedKey{}
	}
	c.keys[id] = parsedKey{pem: bytes.Clone(raw), key: key}
	c.mu.Unlock()
	return key, nil
}

func cacheID(ref keystore.Ref, version int) string {
	r := ref.Unversioned()
	r.Version = version
	return r.String()
}

// ParsePrivateKeyPEM parses the first PEM block as a PKCS#8, PKCS#1 (RSA) or SEC1 (EC) private
// key. Errors never include key material.
func ParsePrivateKeyPEM(b []byte) (crypto.Signer, error) {
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, errors.New("not a PEM private key")
	}
	if k, err := x509.ParsePKCS8PrivateKey(block.Bytes); err == nil {
		if s, ok := k.(crypto.Signer); ok {
			return s, nil
		}
		return nil, errors.New("PKCS#8 key of an unsupported type")
	}
	if k, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
		return k, nil
	}
	if k, err := x509.ParseECPrivateKey(block.Bytes); err == nil {
		return k, nil
	}
	return nil, errors.New("PEM block is not a PKCS#8, PKCS#1 or SEC1 private key")
}

// ParsePublicKeyPEM parses a PKIX public key, a PKCS#1 RSA public key or a certificate.
func ParsePublicKeyPEM(b []byte) (crypto.PublicKey, error) {
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, errors.New("not a PEM public key or certificate")
	}
	if k, err := x509.ParsePKIXPublicKey(block.Bytes); err == nil {
		return k, nil
	}
	if k, err := x509.ParsePKCS1PublicKey(block.Bytes); err == nil {
		return k, nil
	}
	if c, err := x509.ParseCertificate(block.Bytes); err == nil {
		return c.PublicKey, nil
	}
	return nil, errors.New("PEM block is not a PKIX or PKCS#1 public key or a certificate")
}

// signLocal signs data (the message) with key: RSA PKCS#1 v1.5 and ECDSA ASN.1 over the digest
// named by hash, ed25519 over the message itself.
func signLocal(key crypto.Signer, hash string, data []byte, ref keystore.Ref) ([]byte, error) {
	var (
		sig []byte
		err error
	)
	switch k := key.(type) {
	case ed25519.PrivateKey:
		sig = ed25519.Sign(k, data)
	case *rsa.PrivateKey:
		h := hashes[hash]
		sig, err = rsa.SignPKCS1v15(nil, k, h.id, digest(h, data))
	case *ecdsa.PrivateKey:
		sig, err = ecdsa.SignASN1(rand.Reader, k, digest(hashes[hash], data))
	default:
		err = errors.New("unsupported key type")
	}
	if err != nil {
		return nil, failure.Wrap(failure.Internal, "sign", err, "signing with "+ref.String())
	}
	return sig, nil
}
