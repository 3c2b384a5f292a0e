package keystore

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"
)

// HMAC asks Vault to compute the HMAC with a Transit key (transit/hmac/KEY/ALG); the key never
// leaves Vault.
func (v *Vault) HMAC(ctx context.Context, ref Ref, alg string, data []byte) ([]byte, error) {
	return v.transit(ctx, ref, "hmac", alg, "hmac", map[string]any{
		"input": base64.StdEncoding.EncodeToString(data),
	})
}

// Sign asks Vault to sign with a Transit key (transit/sign/KEY/ALG): PKCS#1 v1.5 for RSA keys,
// ASN.1 DER for ECDSA keys, raw for ed25519. The data is hashed by Vault (prehashed=false).
func (v *Vault) Sign(ctx context.Context, ref Ref, alg string, data []byte) ([]byte, error) {
	return v.transit(ctx, ref, "sign", alg, "signature", map[string]any{
		"input":                base64.StdEncoding.EncodeToString(data),
		"prehashed":            false,
		"signature_algorithm":  "pkcs1v15", // RSA only; ignored for other key types
		"marshaling_algorithm": "asn1",     // ECDSA only
	})
}

func (v *Vault) transit(ctx context.Context, ref Ref, op, alg, field string, body map[string]any) ([]byte, error) {
	if ref.Kind != Transit {
		return nil, readFailure(ref, ErrNotFound, "not a transit reference")
	}
	if err := ref.Canonical(); err != nil {
		return nil, readFailure(ref, ErrNotFound, err.Error())
	}
	if err := v.notLoggedIn(ref); err != nil {
		return nil, err
	}
	if alg == "" || strings.ContainsAny(alg, "/?#") {
		return nil, readFailure(ref, ErrNotFound, fmt.Sprintf("hash algorithm %q is not valid", alg))
	}
	ctx, cancel := context.WithTimeout(ctx, v.opts.Timeout)
	defer cancel()
	s, err := v.client.Logical().WriteWithContext(ctx, ref.Mount+"/"+op+"/"+ref.Path+"/"+alg, body)
	if err != nil {
		detail, sentinel := classify(err)
		return nil, readFailure(ref, sentinel, detail)
	}
	if s == nil || s.Data == nil {
		return nil, readFailure(ref, ErrUnavailable, "transit "+op+" answered without data")
	}
	out, _ := s.Data[field].(string)
	return decodeTransit(ref, op, out)
}

// decodeTransit decodes Vault's "vault:vN:<base64>" output.
func decodeTransit(ref Ref, op, out string) ([]byte, error) {
	parts := strings.SplitN(out, ":", 3)
	if len(parts) != 3 || parts[0] != "vault" || !strings.HasPrefix(parts[1], "v") {
		return nil, readFailure(ref, ErrUnavailable, "transit "+op+" answered in an unknown format")
	}
	b, err := base64.StdEncoding.DecodeString(parts[2])
	if err != nil {
		return nil, readFailure(ref, ErrUnavailable, "transit "+op+" answered with invalid base64")
	}
	return b, nil
}
