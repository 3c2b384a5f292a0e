package signer

import "context"

// newHMAC builds the `hmac` scheme: HMAC (sha1, sha256, sha512) over a string-to-sign template,
// hex by default. It runs in Vault Transit when the key is a transit reference.
func newHMAC(b Build) (Step, error) {
	var p canonicalParams
	if err := decodeParams(b, &p); err != nil {
		return nil, err
	}
	s, err := buildCanonical(b, &p, []string{"sha256", "sha1", "sha512"}, "hex", false)
	if err != nil {
		return nil, err
	}
	s.sign = func(ctx context.Context, x *Exchange, data []byte) ([]byte, error) {
		return x.Keys.HMAC(ctx, x, s.p.Key, s.p.Hash, data)
	}
	return s, nil
}
