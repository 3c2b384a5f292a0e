package signer

import (
	"context"
	"encoding/hex"
)

// acs3Params configure Alibaba Cloud's V3 signature (ACS3-HMAC-SHA256). The signature is one
// HMAC with the AccessKey secret, so the secret may be a Transit key.
type acs3Params struct {
	AccessKeyID     textParam `json:"access_key_id"`     // literal, var:NAME or secret:NAME
	AccessKeySecret string    `json:"access_key_secret"` // secret name (KV or Transit)
	SecurityToken   string    `json:"security_token"`    // optional secret name -> x-acs-security-token (STS)
	Action          string    `json:"action"`            // optional x-acs-action when the request has none
	Version         string    `json:"version"`           // optional x-acs-version when the request has none
	SignedHeaders   []string  `json:"signed_headers"`
}

type acs3Step struct {
	p      acs3Params
	id     plainValue
	picker headerPicker
}

var _ Step = (*acs3Step)(nil)

func newACS3(b Build) (Step, error) {
	var p acs3Params
	if err := decodeParams(b, &p); err != nil {
		return nil, err
	}
	id, err := accessKey{idParam: "access_key_id", secretParam: "access_key_secret", tokenParam: "security_token", derived: false,
		id: p.AccessKeyID, secret: p.AccessKeySecret, token: p.SecurityToken}.build(b)
	if err != nil {
		return nil, err
	}
	if err := checkSignedHeaders(b, p.SignedHeaders); err != nil {
		return nil, err
	}
	return &acs3Step{p: p, id: id,
		picker: newHeaderPicker([]string{"content-type"}, []string{"x-acs-"}, p.SignedHeaders)}, nil
}

func (s *acs3Step) Needs() Needs { return Needs{RequestBody: true} }

func (s *acs3Step) SignRequest(ctx context.Context, x *Exchange) error {
	r := x.Request
	r.Header.Set("X-Acs-Date", x.Clock.Now().UTC().Format("2006-01-02T15:04:05Z"))
	r.Header.Set("X-Acs-Signature-Nonce", x.Clock.Nonce())
	payload := sha256Hex(r.Body())
	r.Header.Set("X-Acs-Content-Sha256", payload)
	setIfAbsent(r, "X-Acs-Action", s.p.Action)
	setIfAbsent(r, "X-Acs-Version", s.p.Version)
	if err := setSessionToken(ctx, x, s.p.SecurityToken, "X-Acs-Security-Token"); err != nil {
		return err
	}
	uri, err := rfc3986Path(r)
	if err != nil {
		return err
	}
	query, err := rfc3986Query(r.RawQuery())
	if err != nil {
		return err
	}
	names, values, err := s.picker.collect(r)
	if err != nil {
		return err
	}
	creq, signed := canonicalRequest(r.Method, uri, query, names, values, payload)
	sts := "ACS3-HMAC-SHA256\n" + sha256Hex([]byte(creq))
	mac, err := x.Keys.HMAC(ctx, x, s.p.AccessKeySecret, "sha256", []byte(sts))
	if err != nil {
		return err
	}
	id, err := s.id.resolve(ctx, x)
	if err != nil {
		return err
	}
	return setHeader(r, "Authorization", "ACS3-HMAC-SHA256 Credential="+id+",SignedHeaders="+signed+
		",Signature="+hex.EncodeToString(mac))
}
