package signer

import "context"

// newRSA builds the `rsa` scheme: a signature by the named private key over a string-to-sign
// template, base64 by default. The key type decides the algorithm (RSA PKCS#1 v1.5, ECDSA
// ASN.1 DER, ed25519); it runs in Vault Transit when the key is a transit reference.
func newRSA(b Build) (Step, error) {
	var p canonicalParams
	if err := decodeParams(b, &p); err != nil {
		return nil, err
	}
	s, err := buildCanonical(b, &p, []string{"sha256", "sha512"}, "base64", false)
	if err != nil {
		return nil, err
	}
	s.sign = func(ctx context.Context, x *Exchange, data []byte) ([]byte, error) {
		return x.Keys.Sign(ctx, x, s.p.Key, s.p.Hash, data)
	}
	return s, nil
}
