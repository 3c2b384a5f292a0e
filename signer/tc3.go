package signer

import (
	"context"
	"strconv"
	"strings"

	"github.com/keygate/keygate/internal/failure"
)

// tc3Params configure Tencent Cloud API 3.0 signing (TC3-HMAC-SHA256). The signing key is
// derived by chained HMACs from the SecretKey, so the key must be a KV reference.
type tc3Params struct {
	SecretID      textParam `json:"secret_id"`  // literal, var:NAME or secret:NAME
	SecretKey     string    `json:"secret_key"` // secret name (KV)
	Token         string    `json:"token"`      // optional secret name -> X-TC-Token (temporary credentials)
	Service       string    `json:"service"`    // default: the first label of the host (cvm.tencentcloudapi.com -> cvm)
	Action        string    `json:"action"`     // optional X-TC-Action when the request has none
	Version       string    `json:"version"`    // optional X-TC-Version when the request has none
	Region        string    `json:"region"`     // optional X-TC-Region when the request has none
	SignedHeaders []string  `json:"signed_headers"`
}

type tc3Step struct {
	p      tc3Params
	id     plainValue
	picker headerPicker
}

var _ Step = (*tc3Step)(nil)

func newTC3(b Build) (Step, error) {
	var p tc3Params
	if err := decodeParams(b, &p); err != nil {
		return nil, err
	}
	id, err := accessKey{idParam: "secret_id", secretParam: "secret_key", tokenParam: "token", derived: true,
		id: p.SecretID, secret: p.SecretKey, token: p.Token}.build(b)
	if err != nil {
		return nil, err
	}
	if err := checkSignedHeaders(b, p.SignedHeaders); err != nil {
		return nil, err
	}
	return &tc3Step{p: p, id: id,
		picker: newHeaderPicker([]string{"content-type"}, nil, p.SignedHeaders)}, nil
}

func (s *tc3Step) Needs() Needs { return Needs{RequestBody: true} }

func (s *tc3Step) SignRequest(ctx context.Context, x *Exchange) error {
	r := x.Request
	now := x.Clock.Now().UTC()
	ts := strconv.FormatInt(now.Unix(), 10)
	r.Header.Set("X-TC-Timestamp", ts)
	setIfAbsent(r, "X-TC-Action", s.p.Action)
	setIfAbsent(r, "X-TC-Version", s.p.Version)
	setIfAbsent(r, "X-TC-Region", s.p.Region)
	if err := setSessionToken(ctx, x, s.p.Token, "X-TC-Token"); err != nil {
		return err
	}
	if r.Header.Get("Content-Type") == "" {
		return failure.New(failure.BadRequest, "sign", "tc3 signs Content-Type and the request has none")
	}
	service := s.p.Service
	if service == "" {
		host, _, _ := strings.Cut(r.Authority, ":")
		service, _, _ = strings.Cut(host, ".")
	}
	names, values, err := s.picker.collect(r)
	if err != nil {
		return err
	}
	// Tencent's document: header names and values lower-cased, trimmed.
	for n, v := range values {
		values[n] = strings.ToLower(v)
	}
	uri := r.PathOnly()
	if uri == "" {
		uri = "/"
	}
	// The query exactly as it leaves: the string after "?" is what Tencent's server signs.
	creq, signed := canonicalRequest(r.Method, uri, r.RawQuery(), names, values, sha256Hex(r.Body()))
	date := now.Format("2006-01-02")
	scope := date + "/" + service + "/tc3_request"
	sts := "TC3-HMAC-SHA256\n" + ts + "\n" + scope + "\n" + sha256Hex([]byte(creq))

	key, err := x.Keys.Secret(ctx, x, s.p.SecretKey)
	if err != nil {
		return err
	}
	k := deriveHMAC(prefixedSecret("TC3", key, ""), date)
	k = deriveHMAC(k, service)
	k = deriveHMAC(k, "tc3_request")
	sig := hmacHex(k, sts)

	id, err := s.id.resolve(ctx, x)
	if err != nil {
		return err
	}
	return setHeader(r, "Authorization", "TC3-HMAC-SHA256 Credential="+id+"/"+scope+
		", SignedHeaders="+signed+", Signature="+sig)
}
