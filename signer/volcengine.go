package signer

import (
	"context"
)

// volcengineParams configure Volcano Engine's (and BytePlus's) HMAC-SHA256 request signing. The
// signing key is derived from the secret by chained HMACs, so the secret must be KV.
type volcengineParams struct {
	AccessKeyID     textParam `json:"access_key_id"`     // literal, var:NAME or secret:NAME
	SecretAccessKey string    `json:"secret_access_key"` // secret name (KV)
	SessionToken    string    `json:"session_token"`     // optional secret name -> X-Security-Token (STS)
	Region          string    `json:"region"`
	Service         string    `json:"service"`
	SignedHeaders   []string  `json:"signed_headers"`
}

type volcengineStep struct {
	p      volcengineParams
	id     plainValue
	picker headerPicker
}

var _ Step = (*volcengineStep)(nil)

func newVolcengine(b Build) (Step, error) {
	var p volcengineParams
	if err := decodeParams(b, &p); err != nil {
		return nil, err
	}
	id, err := accessKey{idParam: "access_key_id", secretParam: "secret_access_key", tokenParam: "session_token", derived: true,
		id: p.AccessKeyID, secret: p.SecretAccessKey, token: p.SessionToken}.build(b)
	if err != nil {
		return nil, err
	}
	if p.Region == "" {
		return nil, paramError(b, "region", "required, e.g. cn-north-1")
	}
	if p.Service == "" {
		return nil, paramError(b, "service", "required, e.g. iam")
	}
	if err := checkSignedHeaders(b, p.SignedHeaders); err != nil {
		return nil, err
	}
	return &volcengineStep{p: p, id: id, picker: newHeaderPicker(
		[]string{"content-type", "x-date", "x-content-sha256", "x-security-token"}, nil, p.SignedHeaders)}, nil
}

func (s *volcengineStep) Needs() Needs { return Needs{RequestBody: true} }

func (s *volcengineStep) SignRequest(ctx context.Context, x *Exchange) error {
	r := x.Request
	xdate := x.Clock.Now().UTC().Format(amzDateFormat)
	r.Header.Set("X-Date", xdate)
	payload := sha256Hex(r.Body())
	r.Header.Set("X-Content-Sha256", payload)
	if err := setSessionToken(ctx, x, s.p.SessionToken, "X-Security-Token"); err != nil {
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
	scope := xdate[:8] + "/" + s.p.Region + "/" + s.p.Service + "/request"
	sts := "HMAC-SHA256\n" + xdate + "\n" + scope + "\n" + sha256Hex([]byte(creq))

	sk, err := x.Keys.Secret(ctx, x, s.p.SecretAccessKey)
	if err != nil {
		return err
	}
	k := deriveHMAC(sk, xdate[:8])
	k = deriveHMAC(k, s.p.Region)
	k = deriveHMAC(k, s.p.Service)
	k = deriveHMAC(k, "request")
	id, err := s.id.resolve(ctx, x)
	if err != nil {
		return err
	}
	return setHeader(r, "Authorization", "HMAC-SHA256 Credential="+id+"/"+scope+
		", SignedHeaders="+signed+", Signature="+hmacHex(k, sts))
}
