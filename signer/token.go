package signer

import (
	"context"
	"time"

	"github.com/keygate/keygate/internal/failure"
)

// tokenParams place the token manager's token in a header.
type tokenParams struct {
	Header string  `json:"header"` // default Authorization
	Prefix *string `json:"prefix"` // default "Bearer "
}

type tokenStep struct {
	header, prefix string
}

var _ Step = (*tokenStep)(nil)

func newToken(b Build) (Step, error) {
	var p tokenParams
	if err := decodeParams(b, &p); err != nil {
		return nil, err
	}
	if !b.HasToken {
		return nil, paramError(b, "scheme", "provider has no token source: declare token: in the provider")
	}
	s := &tokenStep{header: p.Header, prefix: "Bearer "}
	if s.header == "" {
		s.header = "Authorization"
	}
	if p.Prefix != nil {
		s.prefix = *p.Prefix
	}
	return s, nil
}

func (s *tokenStep) Needs() Needs { return Needs{} }

func (s *tokenStep) SignRequest(ctx context.Context, x *Exchange) error {
	if x.Tokens == nil {
		return failure.New(failure.Internal, "token", "provider %q has no token source", x.Provider)
	}
	start := time.Now()
	tok, err := x.Tokens.Token(ctx)
	x.Timing.AddSince(StageToken, start)
	if err != nil {
		return err // the token manager classifies its failures (stage token)
	}
	hv := s.prefix + string(tok.Reveal()) // the token is the value's tail: one copy, not two
	v := hv[len(s.prefix):]
	if !validHeaderValue(v) {
		return failure.New(failure.BadGateway, "token", "the token holds a line break and cannot be a header value")
	}
	x.Request.Header.Set(s.header, hv)
	x.MarkSensitive(v)
	return nil
}
