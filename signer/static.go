package signer

import (
	"context"
	"encoding/base64"

	"github.com/keygate/keygate/internal/failure"
)

// staticParams inject a stored credential as it is.
type staticParams struct {
	Secret   string `json:"secret"`
	In       string `json:"in"`       // header | bearer | basic | query
	Name     string `json:"name"`     // header name (in: header) or query parameter (in: query)
	Username string `json:"username"` // in: basic; literal, var:NAME or secret:NAME
	Prefix   string `json:"prefix"`   // in: header; put before the value, e.g. "Token "
}

type staticStep struct {
	p        staticParams
	username plainValue
}

var _ Step = (*staticStep)(nil)

func newStatic(b Build) (Step, error) {
	var p staticParams
	if err := decodeParams(b, &p); err != nil {
		return nil, err
	}
	if err := requireParamSecret(b, "secret", p.Secret, true); err != nil {
		return nil, err
	}
	if err := oneOf(b, "in", &p.In, "header", "bearer", "basic", "query"); err != nil {
		return nil, err
	}
	s := &staticStep{p: p}
	switch p.In {
	case "header", "query":
		if p.Name == "" {
			return nil, paramError(b, "name", "required when in is %s", p.In)
		}
	case "basic":
		u, err := parsePlainValue(b, "username", p.Username, true, true)
		if err != nil {
			return nil, err
		}
		s.username = u
	}
	return s, nil
}

func (s *staticStep) Needs() Needs { return Needs{} }

func (s *staticStep) SignRequest(ctx context.Context, x *Exchange) error {
	v, err := x.Keys.Secret(ctx, x, s.p.Secret)
	if err != nil {
		return err
	}
	r := x.Request
	switch s.p.In {
	case "header":
		// The header value is one string; the credential is its tail (one copy of the secret
		// per request, not two).
		hv := s.p.Prefix + string(v.Reveal())
		if !validHeaderValue(hv[len(s.p.Prefix):]) {
			return failure.New(failure.Internal, "sign", "secret %q holds a line break and cannot be a header value", s.p.Secret)
		}
		r.Header.Set(s.p.Name, hv)
		x.MarkSensitive(hv)
	case "bearer":
		hv := "Bearer " + string(v.Reveal())
		cred := hv[len("Bearer "):]
		if !validHeaderValue(cred) {
			return failure.New(failure.Internal, "sign", "secret %q holds a line break and cannot be a header value", s.p.Secret)
		}
		r.Header.Set("Authorization", hv)
		x.MarkSensitive(cred)
	case "basic":
		cred := string(v.Reveal())
		user, err := s.username.resolve(ctx, x)
		if err != nil {
			return err
		}
		basic := base64.StdEncoding.EncodeToString([]byte(user + ":" + cred))
		r.Header.Set("Authorization", "Basic "+basic)
		x.MarkSensitive(basic)
	case "query":
		cred := string(v.Reveal())
		r.SetRawQuery(setQueryParam(r.RawQuery(), s.p.Name, cred))
		x.MarkSensitive(cred)
	}
	return nil
}
