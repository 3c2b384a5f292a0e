package signer

import (
	"context"
	"crypto/cipher"
	"crypto/rand"
	"slices"
)

// gcmParams are aes_gcm's. Without nonce, a random 12-byte nonce is prefixed to the ciphertext
// (and read from there on decrypt); with nonce, that fixed secret nonce is used and not sent.
type gcmParams struct {
	aesParams
	Nonce string `json:"nonce"` // optional secret name of a fixed 12-byte nonce (only if the provider demands it)
	AAD   string `json:"aad"`   // optional additional authenticated data, plain text
}

type gcmMode struct {
	s     *aesStep
	nonce string
	aad   []byte
}

func newAESGCM(b Build) (Step, error) {
	var p gcmParams
	if err := decodeParams(b, &p); err != nil {
		return nil, err
	}
	s, err := buildAES(b, p.aesParams)
	if err != nil {
		return nil, err
	}
	if p.Nonce != "" {
		if err := requireParamSecret(b, "nonce", p.Nonce, true); err != nil {
			return nil, err
		}
	}
	m := gcmMode{s: s, nonce: p.Nonce}
	if p.AAD != "" {
		m.aad = []byte(p.AAD)
	}
	s.mode = m
	return s, nil
}

func (m gcmMode) aead(key []byte) cipher.AEAD {
	g, _ := cipher.NewGCM(m.s.keyed(key).block) // the key length was checked; standard sizes never fail
	return g
}

func (m gcmMode) seal(ctx context.Context, x *Exchange, dst, key, plain []byte) ([]byte, error) {
	g := m.aead(key)
	if m.nonce != "" {
		nonce, err := m.s.keyBytes(ctx, x, "encrypt", m.nonce, g.NonceSize())
		if err != nil {
			return nil, err
		}
		return g.Seal(dst, nonce, plain, m.aad), nil
	}
	n := len(dst)
	dst = slices.Grow(dst, g.NonceSize()+len(plain)+g.Overhead())[:n+g.NonceSize()]
	nonce := dst[n:]
	_, _ = rand.Read(nonce) // crypto/rand.Read never fails
	return g.Seal(dst, nonce, plain, m.aad), nil
}

func (m gcmMode) open(ctx context.Context, x *Exchange, key, ct []byte) ([]byte, error) {
	g := m.aead(key)
	nonce := ct
	if m.nonce != "" {
		n, err := m.s.keyBytes(ctx, x, "decrypt", m.nonce, g.NonceSize())
		if err != nil {
			return nil, err
		}
		nonce = n
	} else {
		if len(ct) < g.NonceSize()+g.Overhead() {
			return nil, errDecrypt
		}
		nonce, ct = ct[:g.NonceSize()], ct[g.NonceSize():]
	}
	plain, err := g.Open(ct[:0], nonce, ct, m.aad) // in place: ct is open's own buffer
	if err != nil {
		return nil, errDecrypt
	}
	return plain, nil
}
