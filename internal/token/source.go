package token

import (
	"context"
	"time"

	"github.com/keygate/keygate/internal/failure"
	"github.com/keygate/keygate/internal/secret"
	"github.com/keygate/keygate/signer"
)

// ProviderSource is one provider's token for one tenant: the signer.TokenSource the pipeline
// uses. It is safe for concurrent use.
type ProviderSource struct {
	m *Manager
	e *entry
	f Fetcher
	p Policy
}

var _ signer.TokenSource = (*ProviderSource)(nil)

// Key is the (tenant, provider) the source caches under.
func (s *ProviderSource) Key() Key { return s.e.key }

// Policy is the source's policy, defaults applied.
func (s *ProviderSource) Policy() Policy { return s.p }

// Token returns a valid token. A token before its refresh point is returned at once; inside the
// refresh window it is returned while one background refresh runs; an expired or absent token
// makes the caller wait for the one shared fetch, bounded by ctx and the policy's Timeout.
// During the backoff after a failed fetch, callers get that failure at once.
func (s *ProviderSource) Token(ctx context.Context) (secret.Value, error) {
	now := s.m.opts.Clock()
	e := s.e
	e.mu.Lock()
	if e.has && e.tok.validAt(now) {
		fresh := now.Before(e.refreshAt)
		if fresh || e.lastErr == nil || s.p.ServeStale {
			if !fresh && !e.refreshing && !now.Before(e.retryAt) && s.m.ctx.Err() == nil {
				e.refreshing = true
				s.m.refreshs.Add(1)
				go s.refresh()
			}
			v := e.tok.Value
			e.mu.Unlock()
			s.m.opts.Observer.Lookup(e.key, true)
			return v, nil
		}
	}
	if e.lastErr != nil && now.Before(e.retryAt) {
		err := e.lastErr
		e.mu.Unlock()
		s.m.opts.Observer.Lookup(e.key, false)
		return secret.Value{}, err
	}
	e.mu.Unlock()
	s.m.opts.Observer.Lookup(e.key, false)
	t, err := s.shared(ctx)
	return t.Value, err
}

// shared joins (or starts) the key's one acquisition. The acquisition does not inherit ctx's
// cancellation: a caller that gives up leaves it running for the others. It ends when the
// Manager closes.
func (s *ProviderSource) shared(ctx context.Context) (Token, error) {
	ch := s.e.sf.DoChan("", func() (any, error) {
		detached, cancel := context.WithCancel(context.WithoutCancel(ctx))
		defer cancel()
		defer context.AfterFunc(s.m.ctx, cancel)()
		return s.acquire(detached)
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return Token{}, r.Err
		}
		return r.Val.(Token), nil
	case <-ctx.Done():
		return Token{}, failure.Wrap(failure.KindOf(ctx.Err()), stage, ctx.Err(), "waiting for the token of "+s.e.key.String())
	}
}

// refresh runs one background refresh; its outcome lands in the entry.
func (s *ProviderSource) refresh() {
	defer s.m.refreshs.Done()
	_, _ = s.shared(s.m.ctx)
	s.e.mu.Lock()
	s.e.refreshing = false
	s.e.mu.Unlock()
}

// Load returns the cached token, or a valid one from the store, without fetching.
func (s *ProviderSource) Load(ctx context.Context) (secret.Value, bool) {
	now := s.m.opts.Clock()
	s.e.mu.Lock()
	if s.e.has && s.e.tok.validAt(now) {
		v := s.e.tok.Value
		s.e.mu.Unlock()
		return v, true
	}
	s.e.mu.Unlock()
	if t, ok := s.adoptStored(ctx); ok {
		return t.Value, true
	}
	return secret.Value{}, false
}

// Save caches a token a script fetched itself and writes it to the store.
func (s *ProviderSource) Save(ctx context.Context, token secret.Value, expiry time.Time) error {
	now := s.m.opts.Clock()
	t := Token{Value: token, Expiry: expiry}
	if token.IsZero() {
		return failure.New(failure.BadGateway, stage, "token_save for %s: the token is empty", s.e.key)
	}
	if !t.validAt(now) {
		return failure.New(failure.BadGateway, stage, "token_save for %s: the token expired at %s", s.e.key, expiry.UTC().Format(time.RFC3339))
	}
	s.e.mu.Lock()
	s.e.set(t, now, s.p)
	s.e.mu.Unlock()
	s.saveStored(ctx, t)
	return nil
}

// Invalidate drops the cached token because the provider rejected it. A token younger than the
// policy's InvalidateGrace is kept: it is the one fetched after the first of a burst of
// rejections, not the rejected one. Prefer InvalidateToken when the rejected token is known.
func (s *ProviderSource) Invalidate(ctx context.Context) {
	now := s.m.opts.Clock()
	s.e.mu.Lock()
	if !s.e.has || now.Sub(s.e.since) < s.p.InvalidateGrace {
		s.e.mu.Unlock()
		return
	}
	s.e.purge()
	rejected := s.e.rejected
	s.e.mu.Unlock()
	s.m.opts.Logger.Info("token invalidated", "tenant", s.e.key.Tenant, "provider", s.e.key.Provider)
	s.dropStored(ctx, rejected)
}

// InvalidateToken drops the cached token if it is rejected, the token a request was sent with;
// a burst of rejections of one token purges it once and never the token fetched after it.
func (s *ProviderSource) InvalidateToken(ctx context.Context, rejected secret.Value) {
	if rejected.IsZero() {
		return
	}
	s.e.mu.Lock()
	match := s.e.has && s.e.tok.Value.Equal(rejected)
	if match {
		s.e.purge()
	}
	s.e.mu.Unlock()
	if match {
		s.m.opts.Logger.Info("token invalidated", "tenant", s.e.key.Tenant, "provider", s.e.key.Provider)
		s.dropStored(ctx, rejected)
	}
}
