package signer

import (
	"context"
	"strconv"
	"time"

	"github.com/keygate/keygate/internal/failure"
)

// canonicalParams are the parameters the hmac and rsa schemes share: a string-to-sign template,
// optional timestamp and nonce headers set before signing, and where the signature goes.
type canonicalParams struct {
	Key             string `json:"key"`
	Hash            string `json:"hash"`
	Encoding        string `json:"encoding"`
	StringToSign    string `json:"string_to_sign"`
	Output          string `json:"output"` // header | query
	Name            string `json:"name"`   // header or query parameter name
	Value           string `json:"value"`  // value template, default "{signature}"
	TimestampHeader string `json:"timestamp_header"`
	TimestampFormat string `json:"timestamp_format"` // unix | unix_ms | rfc3339
	NonceHeader     string `json:"nonce_header"`
}

// canonicalStep signs a rendered template with sign and writes the encoded signature.
type canonicalStep struct {
	p        canonicalParams
	toSign   stringTemplate
	value    stringTemplate
	encoding byteEncoding
	sign     func(ctx context.Context, x *Exchange, data []byte) ([]byte, error)
	// needNonce: a template or the nonce header uses the nonce (decided once, at compile time)
	needNonce bool
}

var _ Step = (*canonicalStep)(nil)

func buildCanonical(b Build, p *canonicalParams, hashes []string, defEncoding string, readable bool) (*canonicalStep, error) {
	if err := requireParamSecret(b, "key", p.Key, readable); err != nil {
		return nil, err
	}
	if err := oneOf(b, "hash", &p.Hash, hashes...); err != nil {
		return nil, err
	}
	enc, err := parseEncoding(p.Encoding, defEncoding)
	if err != nil {
		return nil, paramError(b, "encoding", "%v", err)
	}
	if p.StringToSign == "" {
		return nil, paramError(b, "string_to_sign", "required")
	}
	toSign, err := compileTemplate(p.StringToSign, canonicalPlaceholders)
	if err != nil {
		return nil, paramError(b, "string_to_sign", "%v", err)
	}
	if p.Value == "" {
		p.Value = "{signature}"
	}
	value, err := compileTemplate(p.Value, valuePlaceholders)
	if err != nil {
		return nil, paramError(b, "value", "%v", err)
	}
	if err := oneOf(b, "output", &p.Output, "header", "query"); err != nil {
		return nil, err
	}
	if p.Name == "" {
		return nil, paramError(b, "name", "required: the %s that carries the signature", p.Output)
	}
	if err := oneOf(b, "timestamp_format", &p.TimestampFormat, "unix", "unix_ms", "rfc3339"); err != nil {
		return nil, err
	}
	return &canonicalStep{p: *p, toSign: toSign, value: value, encoding: enc,
		needNonce: toSign.uses("nonce") || value.uses("nonce") || p.NonceHeader != ""}, nil
}

func (s *canonicalStep) Needs() Needs { return Needs{RequestBody: s.toSign.needBody} }

func (s *canonicalStep) SignRequest(ctx context.Context, x *Exchange) error {
	v := templateVars{timestamp: formatTimestamp(x.Clock.Now(), s.p.TimestampFormat)}
	if s.needNonce {
		v.nonce = x.Clock.Nonce()
	}
	r := x.Request
	if s.p.TimestampHeader != "" {
		r.Header.Set(s.p.TimestampHeader, v.timestamp)
	}
	if s.p.NonceHeader != "" {
		r.Header.Set(s.p.NonceHeader, v.nonce)
	}
	toSign := s.toSign.render(r, v)
	x.Explained("canonical", "string to sign", func() string { return string(toSign) })
	sig, err := s.sign(ctx, x, toSign)
	if err != nil {
		return err
	}
	v.signature = s.encoding.encode(sig)
	out := string(s.value.render(r, v))
	if s.p.Output == "query" {
		r.SetRawQuery(setQueryParam(r.RawQuery(), s.p.Name, out))
		return nil
	}
	if !validHeaderValue(out) {
		return failure.New(failure.BadRequest, "sign", "header %s would hold a line break", s.p.Name)
	}
	r.Header.Set(s.p.Name, out)
	return nil
}

func formatTimestamp(t time.Time, format string) string {
	switch format {
	case "unix_ms":
		return strconv.FormatInt(t.UnixMilli(), 10)
	case "rfc3339":
		return t.UTC().Format(time.RFC3339)
	}
	return strconv.FormatInt(t.Unix(), 10)
}

// validHeaderValue rejects values a header cannot carry (a template may copy request text).
func validHeaderValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c == '\r' || c == '\n' || c == 0 {
			return false
		}
	}
	return true
}
