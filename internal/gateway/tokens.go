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
	// fetch is the provider's one-slot lock for token fetches a script makes itself (custom
	// mode's token_load, then http_post_json, then token_save): the first request that finds no
	// token holds it until it saved one or ended, the others wait and then reuse that token. A
	// provider that revokes earlier tokens when it issues a new one is not given a storm of
	// fetches. nil for built-in token sources, which have their own single flight.
	fetch chan struct{}
	held  bool
}

var _ signer.TokenSource = (*exchangeTokens)(nil)

func newExchangeTokens(src signer.TokenSource, fetch chan struct{}) *exchangeTokens {
	if src == nil {
		return nil
	}
	return &exchangeTokens{src: src, fetch: fetch}
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
	if !ok && t.fetch != nil && !t.held {
		select {
		case t.fetch <- struct{}{}:
			t.held = true
		case <-ctx.Done():
			return secret.Value{}, false
		}
		// Another request may have saved a token while this one waited.
		if v, ok = t.src.Load(ctx); ok {
			t.release()
		}
	}
	if ok {
		t.used = v
	}
	return v, ok
}

func (t *exchangeTokens) Save(ctx context.Context, token secret.Value, expiry time.Time) error {
	t.used = token
	defer t.release()
	return t.src.Save(ctx, token, expiry)
}

// release gives up the fetch lock, if this request holds it. The request's end releases it too
// (a script that fetched nothing, or failed).
func (t *exchangeTokens) release() {
	if t.held {
		<-t.fetch
		t.held = false
	}
}

func (t *exchangeTokens) Invalidate(ctx context.Context) {
	if r, ok := t.src.(tokenRejecter); ok && !t.used.IsZero() {
		r.InvalidateToken(ctx, t.used)
		return
	}
	t.src.Invalidate(ctx)
}
