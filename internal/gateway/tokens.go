package gateway

import (
	"context"
	"time"

	"github.com/keygate/keygate/internal/secret"
	"github.com/keygate/keygate/signer"
)

// tokenRejecter is the token manager's precise invalidation: drop the token only if it is the
// one that was rejected, so a burst of 401s for one stale token purges once, and a 401 for a
// stale token never drops the fresh one another request already fetched.
type tokenRejecter interface {
	InvalidateToken(ctx context.Context, rejected secret.Value)
}

// exchangeTokens is one request's view of its provider's token source. It remembers the token
// this request used, so that invalidating (the provider answered 401, or a script called
// token_delete) names exactly that token.
type exchangeTokens struct {
	src  signer.TokenSource
	used secret.Value
}

var _ signer.TokenSource = (*exchangeTokens)(nil)

func newExchangeTokens(src signer.TokenSource) signer.TokenSource {
	if src == nil {
		return nil
	}
	return &exchangeTokens{src: src}
}

func (t *exchangeTokens) Token(ctx context.Context) (secret.Value, error) {
	v, err := t.src.Token(ctx)
	if err == nil {
		t.used = v
	}
	return v, err
}

func (t *exchangeTokens) Load(ctx context.Context) (secret.Value, bool) {
	v, ok := t.src.Load(ctx)
	if ok {
		t.used = v
	}
	return v, ok
}

func (t *exchangeTokens) Save(ctx context.Context, token secret.Value, expiry time.Time) error {
	t.used = token
	return t.src.Save(ctx, token, expiry)
}

func (t *exchangeTokens) Invalidate(ctx context.Context) {
	if r, ok := t.src.(tokenRejecter); ok && !t.used.IsZero() {
		r.InvalidateToken(ctx, t.used)
		return
	}
	t.src.Invalidate(ctx)
}
