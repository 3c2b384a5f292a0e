package signer

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"strconv"
	"strings"

	"github.com/keygate/keygate/internal/failure"
)

// rfc9421Params configure HTTP Message Signatures (RFC 9421).
type rfc9421Params struct {
	Key              string   `json:"key"`          // secret name
	KeyEncoding      string   `json:"key_encoding"` // hmac-sha256 keys: raw | base64 | hex
	KeyID            string   `json:"key_id"`
	Alg              string   `json:"alg"`         // hmac-sha256 | ed25519
	IncludeAlg       bool     `json:"include_alg"` // add ;alg="..." to the signature parameters
	Label            string   `json:"label"`       // default sig1
	Components       []string `json:"components"`
	Created          *bool    `json:"created"` // default true
	Nonce            bool     `json:"nonce"`
	AddContentDigest string   `json:"add_content_digest"` // "" | sha-256 | sha-512 (RFC 9530)
}

type rfc9421Step struct {
	p       rfc9421Params
	keyEnc  keyEncoding
	created bool
	ref     string
}

var _ Step = (*rfc9421Step)(nil)

var rfc9421Derived = map[string]bool{
	"@method": true, "@authority": true, "@path": true, "@query": true, "@target-uri": true,
	"@scheme": true, "@request-target": true,
}

func newRFC9421(b Build) (Step, error) {
	var p rfc9421Params
	if err := decodeParams(b, &p); err != nil {
		return nil, err
	}
	if err := oneOf(b, "alg", &p.Alg, "hmac-sha256", "ed25519"); err != nil {
		return nil, err
	}
	ke, err := parseKeyEncoding(p.KeyEncoding)
	if err != nil {
		return nil, paramError(b, "key_encoding", "%v", err)
	}
	if p.Alg == "ed25519" && ke != "raw" {
		return nil, paramError(b, "key_encoding", "ed25519 keys are PEM; key_encoding applies to hmac-sha256 only")
	}
	// A key stored as text must be decoded here, so only a raw HMAC key may be a Transit key.
	if err := requireParamSecret(b, "key", p.Key, p.Alg == "hmac-sha256" && ke != "raw"); err != nil {
		return nil, err
	}
	if p.Label == "" {
		p.Label = "sig1"
	}
	if !rfc9421Token(p.Label) {
		return nil, paramError(b, "label", "%q is not a structured-field key (a-z, 0-9, _ - . *)", p.Label)
	}
	if len(p.Components) == 0 {
		return nil, paramError(b, "components", "required: at least one covered component")
	}
	for i, c := range p.Components {
		lc := strings.ToLower(c)
		if strings.HasPrefix(lc, "@") && !rfc9421Derived[lc] || lc == "" || strings.ContainsAny(lc, "\" ;") {
			return nil, paramError(b, "components["+strconv.Itoa(i)+"]", "%q is not a supported component", c)
		}
		p.Components[i] = lc
	}
	if p.AddContentDigest != "" && p.AddContentDigest != "sha-256" && p.AddContentDigest != "sha-512" {
		return nil, paramError(b, "add_content_digest", "%q is not one of sha-256, sha-512", p.AddContentDigest)
	}
	if strings.ContainsAny(p.KeyID, "\"\\") {
		return nil, paramError(b, "key_id", "must not hold a quote or backslash")
	}
	s := &rfc9421Step{p: p, keyEnc: ke, created: p.Created == nil || *p.Created, ref: b.Secrets[p.Key].String()}
	return s, nil
}

func rfc9421Token(s string) bool {
	for i, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.' || c == '*') || (i == 0 && !(c >= 'a' && c <= 'z' || c == '*')) {
			return false
		}
	}
	return s != ""
}

func (s *rfc9421Step) Needs() Needs { return Needs{RequestBody: s.p.AddContentDigest != ""} }

func (s *rfc9421Step) SignRequest(ctx context.Context, x *Exchange) error {
	r := x.Request
	if s.p.AddContentDigest != "" {
		r.Header.Set("Content-Digest", contentDigest(s.p.AddContentDigest, r.Body()))
	}
	params := s.signatureParams(x)
	base, err := signatureBase(r, s.p.Components, params)
	if err != nil {
		return err
	}
	x.Explained("rfc9421", "signature base", func() string { return string(base) })
	var sig []byte
	switch {
	case s.p.Alg == "ed25519":
		sig, err = x.Keys.Sign(ctx, x, s.p.Key, "sha256", base) // the hash is ignored for ed25519
	case s.keyEnc == "raw":
		sig, err = x.Keys.HMAC(ctx, x, s.p.Key, "sha256", base)
	default:
		sig, err = s.localHMAC(ctx, x, base)
	}
	if err != nil {
		return err
	}
	r.Header.Set("Signature-Input", s.p.Label+"="+params)
	r.Header.Set("Signature", s.p.Label+"=:"+base64.StdEncoding.EncodeToString(sig)+":")
	return nil
}

func (s *rfc9421Step) localHMAC(ctx context.Context, x *Exchange, base []byte) ([]byte, error) {
	v, err := x.Keys.Secret(ctx, x, s.p.Key)
	if err != nil {
		return nil, err
	}
	key, err := s.keyEnc.decode(v.Reveal())
	if err != nil {
		return nil, failure.Wrap(failure.Internal, "sign", err, s.ref)
	}
	m := hmac.New(sha256.New, key)
	m.Write(base)
	return m.Sum(nil), nil
}

// signatureParams is the @signature-params value: the inner list, then created, keyid, alg,
// nonce in that order (the order of RFC 9421's examples).
func (s *rfc9421Step) signatureParams(x *Exchange) string {
	var b strings.Builder
	b.WriteByte('(')
	for i, c := range s.p.Components {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(strconv.Quote(c))
	}
	b.WriteByte(')')
	if s.created {
		b.WriteString(";created=")
		b.WriteString(strconv.FormatInt(x.Clock.Now().Unix(), 10))
	}
	if s.p.KeyID != "" {
		b.WriteString(`;keyid="` + s.p.KeyID + `"`)
	}
	if s.p.IncludeAlg {
		b.WriteString(`;alg="` + s.p.Alg + `"`)
	}
	if s.p.Nonce {
		b.WriteString(`;nonce="` + x.Clock.Nonce() + `"`)
	}
	return b.String()
}

// signatureBase builds RFC 9421 section 2.5's signature base.
func signatureBase(r *Request, components []string, params string) ([]byte, error) {
	var b []byte
	for _, c := range components {
		v, err := componentValue(r, c)
		if err != nil {
			return nil, err
		}
		b = append(b, '"')
		b = append(b, c...)
		b = append(b, "\": "...)
		b = append(b, v...)
		b = append(b, '\n')
	}
	b = append(b, "\"@signature-params\": "...)
	return append(b, params...), nil
}

func componentValue(r *Request, c string) (string, error) {
	switch c {
	case "@method":
		return r.Method, nil
	case "@authority":
		return strings.ToLower(r.Authority), nil
	case "@scheme":
		return strings.ToLower(r.Scheme), nil
	case "@path":
		if p := r.PathOnly(); p != "" {
			return p, nil
		}
		return "/", nil
	case "@query":
		return "?" + r.RawQuery(), nil
	case "@request-target":
		return r.Path, nil
	case "@target-uri":
		return strings.ToLower(r.Scheme) + "://" + strings.ToLower(r.Authority) + r.Path, nil
	}
	if c == "host" {
		return r.Authority, nil
	}
	vals := r.Header.Values(c)
	if len(vals) == 0 {
		return "", failure.New(failure.BadRequest, "sign", "covered header %q is missing from the request", c)
	}
	trimmed := make([]string, len(vals)) // not in place: Values shares the header's slice
	for i, v := range vals {
		trimmed[i] = strings.TrimSpace(v)
		if !validHeaderValue(trimmed[i]) {
			return "", failure.New(failure.BadRequest, "sign", "covered header %q holds a line break", c)
		}
	}
	return strings.Join(trimmed, ", "), nil
}

// contentDigest is an RFC 9530 Content-Digest field value.
func contentDigest(alg string, body []byte) string {
	if alg == "sha-512" {
		sum := sha512.Sum512(body)
		return "sha-512=:" + base64.StdEncoding.EncodeToString(sum[:]) + ":"
	}
	sum := sha256.Sum256(body)
	return "sha-256=:" + base64.StdEncoding.EncodeToString(sum[:]) + ":"
}
