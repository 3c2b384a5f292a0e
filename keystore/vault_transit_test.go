package keystore_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"errors"
	"hash"
	"testing"

	"github.com/keygate/keygate/internal/vaulttest"
	"github.com/keygate/keygate/keystore"
)

func TestVaultTransitHMAC(t *testing.T) {
	s := vaulttest.Shared(t)
	s.CreateTransitKey(t, "t-hmac", "hmac")
	key := s.ExportHMACKey(t, "t-hmac")
	roleID, secretID := s.AppRoleCreds(t) // the keygate policy allows transit/hmac/*
	auth, err := keystore.NewAppRoleAuth("", roleID, vaulttest.WriteSecretFile(t, "sid", secretID), "")
	if err != nil {
		t.Fatal(err)
	}
	v := openVault(t, s, auth, 0)
	for _, tc := range []struct {
		alg string
		h   func() hash.Hash
	}{{"sha2-256", sha256.New}, {"sha2-512", sha512.New}} {
		t.Run(tc.alg, func(t *testing.T) {
			got, err := v.HMAC(context.Background(), mustRef(t, "transit:transit/t-hmac"), tc.alg, []byte("GET\n/pay\n"))
			if err != nil {
				t.Fatalf("HMAC: %v", err)
			}
			m := hmac.New(tc.h, key.Reveal())
			m.Write([]byte("GET\n/pay\n"))
			if !hmac.Equal(got, m.Sum(nil)) {
				t.Fatalf("transit HMAC differs from the local HMAC with the exported key")
			}
		})
	}
	_, err = v.HMAC(context.Background(), mustRef(t, "transit:transit/no-such-key"), "sha2-256", []byte("x"))
	checkReadFailure(t, err, keystore.ErrNotFound, "transit:transit/no-such-key", "")
}

func TestVaultTransitSign(t *testing.T) {
	s := vaulttest.Shared(t)
	v := openVault(t, s, nil, 0)
	data := []byte("POST /v1/pay\n{\"amount\":1}")
	for _, tc := range []struct{ name, keyType, alg string }{
		{"t-rsa", "rsa-2048", "sha2-256"},
		{"t-rsa512", "rsa-2048", "sha2-512"},
		{"t-ecdsa", "ecdsa-p256", "sha2-256"},
		{"t-ed25519", "ed25519", "sha2-256"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s.CreateTransitKey(t, tc.name, tc.keyType)
			sig, err := v.Sign(context.Background(), mustRef(t, "transit:transit/"+tc.name), tc.alg, data)
			if err != nil {
				t.Fatalf("Sign: %v", err)
			}
			if err := verify(s.TransitPublicKey(t, tc.name), tc.alg, data, sig); err != nil {
				t.Fatalf("signature does not verify locally: %v", err)
			}
		})
	}
}

func verify(pub crypto.PublicKey, alg string, data, sig []byte) error {
	h := crypto.SHA256
	if alg == "sha2-512" {
		h = crypto.SHA512
	}
	d := h.New()
	d.Write(data)
	digest := d.Sum(nil)
	switch k := pub.(type) {
	case *rsa.PublicKey:
		return rsa.VerifyPKCS1v15(k, h, digest, sig)
	case *ecdsa.PublicKey:
		if !ecdsa.VerifyASN1(k, digest, sig) {
			return errors.New("ecdsa: bad ASN.1 signature")
		}
		return nil
	case ed25519.PublicKey:
		if !ed25519.Verify(k, data, sig) {
			return errors.New("ed25519: bad signature")
		}
		return nil
	}
	return errors.New("unknown public key type")
}
