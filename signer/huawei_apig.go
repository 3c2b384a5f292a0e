package signer

import (
	"context"
	"encoding/hex"
	"net/url"
	"strings"

	"github.com/keygate/keygate/internal/failure"
)

// huaweiAPIGParams configure Huawei Cloud's AK/SK signing (SDK-HMAC-SHA256, the APIG and
// huaweicloud-sdk scheme). The signature is one HMAC with the SK, so the SK may be a Transit key.
type huaweiAPIGParams struct {
	AccessKey     textParam `json:"access_key"`     // AK: literal, var:NAME or secret:NAME
	SecretKey     string    `json:"secret_key"`     // SK: secret name (KV or Transit)
	SecurityToken string    `json:"security_token"` // optional secret name -> X-Security-Token (temporary AK/SK)
	SignedHeaders []string  `json:"signed_headers"`
}

type huaweiAPIGStep struct {
	p      huaweiAPIGParams
	id     plainValue
	picker headerPicker
}

var _ Step = (*huaweiAPIGStep)(nil)

func newHuaweiAPIG(b Build) (Step, error) {
	var p huaweiAPIGParams
	if err := decodeParams(b, &p); err != nil {
		return nil, err
	}
	id, err := accessKey{idParam: "access_key", secretParam: "secret_key", tokenParam: "security_token", derived: false,
		id: p.AccessKey, secret: p.SecretKey, token: p.SecurityToken}.build(b)
	if err != nil {
		return nil, err
	}
	if err := checkSignedHeaders(b, p.SignedHeaders); err != nil {
		return nil, err
	}
	return &huaweiAPIGStep{p: p, id: id, picker: newHeaderPicker(
		[]string{"content-type", "x-sdk-date", "x-project-id", "x-domain-id", "x-security-token"},
		[]string{"x-sdk-"}, p.SignedHeaders)}, nil
}

func (s *huaweiAPIGStep) Needs() Needs { return Needs{RequestBody: true} }

func (s *huaweiAPIGStep) SignRequest(ctx context.Context, x *Exchange) error {
	r := x.Request
	date := x.Clock.Now().UTC().Format(amzDateFormat)
	r.Header.Set("X-Sdk-Date", date)
	if err := setSessionToken(ctx, x, s.p.SecurityToken, "X-Security-Token"); err != nil {
		return err
	}
	uri, err := huaweiCanonicalURI(r.PathOnly())
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
	creq, signed := canonicalRequest(r.Method, uri, query, names, values, sha256Hex(r.Body()))
	sts := "SDK-HMAC-SHA256\n" + date + "\n" + sha256Hex([]byte(creq))
	mac, err := x.Keys.HMAC(ctx, x, s.p.SecretKey, "sha256", []byte(sts))
	if err != nil {
		return err
	}
	id, err := s.id.resolve(ctx, x)
	if err != nil {
		return err
	}
	return setHeader(r, "Authorization", "SDK-HMAC-SHA256 Access="+id+", SignedHeaders="+signed+
		", Signature="+hex.EncodeToString(mac))
}

// huaweiCanonicalURI is the decoded path (as Huawei's SDKs read URL.Path), each segment
// percent-encoded (RFC 3986 unreserved kept), ending in "/" (/v1/x/vpcs -> /v1/x/vpcs/).
func huaweiCanonicalURI(p string) (string, error) {
	dec, err := url.PathUnescape(p)
	if err != nil {
		return "", failure.Wrap(failure.BadRequest, "sign", err, "path")
	}
	segs := strings.Split(dec, "/")
	for i, seg := range segs {
		segs[i] = URIEncode(seg, true)
	}
	out := strings.Join(segs, "/")
	if !strings.HasSuffix(out, "/") {
		out += "/"
	}
	if !strings.HasPrefix(out, "/") {
		out = "/" + out
	}
	return out, nil
}
