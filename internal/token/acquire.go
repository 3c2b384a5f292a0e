package token

import (
	"context"
	"time"

	"github.com/keygate/keygate/internal/failure"
	"github.com/keygate/keygate/internal/secret"
)

// leaseMargin is added to the fetch timeout to give a lease time for the store writes around
// the fetch.
const leaseMargin = 2 * time.Second

// acquire is the one acquisition of a key at a time (run under the entry's single flight). It
// re-checks the cache (a flight may have just finished), adopts a better token from the store
// (another replica or a script saved one), and otherwise fetches, taking the store's lease first
// when the store is a Coordinator.
func (s *ProviderSource) acquire(ctx context.Context) (Token, error) {
	if t, done, err := s.settled(); done {
		return t, err
	}
	if t, ok := s.adoptStored(ctx); ok {
		return t, nil
	}
	if c, ok := s.m.opts.Store.(Coordinator); ok {
		return s.coordinated(ctx, c)
	}
	return s.fetch(ctx)
}

// settled reports a result already decided since the caller looked: a fresh token, or a failure
// still inside its backoff.
func (s *ProviderSource) settled() (Token, bool, error) {
	now := s.m.opts.Clock()
	e := s.e
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.has && e.tok.validAt(now) && now.Before(e.refreshAt) {
		return e.tok, true, nil
	}
	if e.lastErr != nil && now.Before(e.retryAt) {
		return Token{}, true, e.lastErr
	}
	return Token{}, false, nil
}

// coordinated fetches under the store's lease: the winner fetches and saves, the others re-read
// the store until the token appears. A lease that is never delivered is waited for at most
// twice its ttl; a store that cannot lease is bypassed (availability over coordination).
func (s *ProviderSource) coordinated(ctx context.Context, c Coordinator) (Token, error) {
	o := s.m.opts
	ttl := s.p.Timeout + leaseMargin
	giveUp := time.Now().Add(2 * ttl) // real time: polling must end even under a pinned Clock
	for {
		won, err := s.tryLease(ctx, c, ttl)
		if err != nil {
			o.Logger.Warn("token store lease failed; fetching without it", "tenant", s.e.key.Tenant,
				"provider", s.e.key.Provider, "error", err.Error())
			return s.fetch(ctx)
		}
		if won {
			// A replica may have saved a token and ended its lease between our last read and
			// our lease: read once more under the lease before calling the endpoint.
			if t, ok := s.adoptStored(ctx); ok {
				s.release(ctx, c)
				return t, nil
			}
			t, err := s.fetch(ctx) // saving the token ends the lease
			if err != nil {
				s.release(ctx, c)
			}
			return t, err
		}
		if time.Now().After(giveUp) {
			o.Logger.Warn("token lease holder did not deliver; fetching", "tenant", s.e.key.Tenant, "provider", s.e.key.Provider)
			return s.fetch(ctx)
		}
		time.Sleep(o.LeasePoll)
		if t, ok := s.adoptStored(ctx); ok {
			return t, nil
		}
	}
}

func (s *ProviderSource) tryLease(ctx context.Context, c Coordinator, ttl time.Duration) (bool, error) {
	sctx, cancel := context.WithTimeout(ctx, s.p.Timeout)
	defer cancel()
	return c.TryLease(sctx, s.e.key, s.m.opts.Holder, ttl)
}

func (s *ProviderSource) release(ctx context.Context, c Coordinator) {
	sctx, cancel := context.WithTimeout(ctx, s.p.Timeout)
	defer cancel()
	if err := c.Release(sctx, s.e.key, s.m.opts.Holder); err != nil {
		s.m.opts.Logger.Warn("token store lease release failed", "tenant", s.e.key.Tenant, "provider", s.e.key.Provider, "error", err.Error())
	}
}

// fetch calls the token endpoint once, bounded by the policy's Timeout, and records the outcome.
func (s *ProviderSource) fetch(ctx context.Context) (Token, error) {
	o := s.m.opts
	fctx, cancel := context.WithTimeout(ctx, s.p.Timeout)
	defer cancel()
	t, err := s.f.Fetch(fctx)
	now := o.Clock()
	if err == nil && !t.validAt(now) {
		err = failure.New(failure.BadGateway, stage, "token endpoint of %s gave a token that is empty or already expired", s.e.key)
	}
	if err != nil {
		err = classify(fctx, err, s.p.Timeout)
		o.Observer.Fetched(s.e.key, err)
		s.e.mu.Lock()
		wait := s.e.fail(err, now, s.p)
		s.e.mu.Unlock()
		o.Logger.Warn("token fetch failed", "tenant", s.e.key.Tenant, "provider", s.e.key.Provider,
			"kind", failure.KindOf(err).String(), "error", err.Error(), "retry_in", wait.Round(time.Millisecond).String())
		return Token{}, err
	}
	o.Observer.Fetched(s.e.key, nil)
	s.e.mu.Lock()
	s.e.set(t, now, s.p)
	s.e.mu.Unlock()
	o.Logger.Debug("token fetched", "tenant", s.e.key.Tenant, "provider", s.e.key.Provider,
		"expires_in", t.Expiry.Sub(now).Round(time.Second).String())
	s.saveStored(ctx, t)
	return t, nil
}

// classify makes sure a fetch error is a failure at stage "token"; a fetch that ran out of its
// timeout is a Timeout whatever the fetcher said.
func classify(fctx context.Context, err error, timeout time.Duration) error {
	if fctx.Err() == context.DeadlineExceeded && failure.KindOf(err) != failure.Timeout {
		what := "token endpoint did not answer"
		if failure.StageOf(err) == "keystore" { // the time went on reading the client's secret
			what = "the token fetch's secrets could not be read"
		}
		return failure.Wrap(failure.Timeout, stage, err, what+" within "+timeout.String())
	}
	if failure.StageOf(err) != "" {
		return err
	}
	return failure.Wrap(failure.KindOf(err), stage, err, "fetching the token")
}

// adoptStored installs the store's token when it is better than the cached one: valid, not the
// rejected one, and either there is no valid cached token or it expires later.
func (s *ProviderSource) adoptStored(ctx context.Context) (Token, bool) {
	sctx, cancel := context.WithTimeout(ctx, s.p.Timeout)
	defer cancel()
	t, ok, err := s.m.opts.Store.Load(sctx, s.e.key)
	if err != nil {
		s.m.opts.Logger.Warn("token store unreadable", "tenant", s.e.key.Tenant, "provider", s.e.key.Provider, "error", err.Error())
		return Token{}, false
	}
	now := s.m.opts.Clock()
	if !ok || !t.validAt(now) {
		return Token{}, false
	}
	e := s.e
	e.mu.Lock()
	defer e.mu.Unlock()
	if t.Value.Equal(e.rejected) {
		return Token{}, false
	}
	if e.has && e.tok.validAt(now) && !t.Expiry.After(e.tok.Expiry) {
		return Token{}, false
	}
	e.set(t, now, s.p)
	return t, true
}

func (s *ProviderSource) saveStored(ctx context.Context, t Token) {
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.p.Timeout)
	defer cancel()
	if err := s.m.opts.Store.Save(sctx, s.e.key, t); err != nil {
		s.m.opts.Logger.Warn("token store write failed", "tenant", s.e.key.Tenant, "provider", s.e.key.Provider, "error", err.Error())
	}
}

// dropStored deletes the store's token if it is still the rejected one (another replica may have
// replaced it already).
func (s *ProviderSource) dropStored(ctx context.Context, rejected secret.Value) {
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.p.Timeout)
	defer cancel()
	st := s.m.opts.Store
	var err error
	if cd, ok := st.(ConditionalDeleter); ok {
		err = cd.DeleteIf(sctx, s.e.key, rejected)
	} else if t, ok, lerr := st.Load(sctx, s.e.key); lerr != nil {
		err = lerr
	} else if ok && t.Value.Equal(rejected) {
		err = st.Delete(sctx, s.e.key)
	}
	if err != nil {
		s.m.opts.Logger.Warn("token store delete failed", "tenant", s.e.key.Tenant, "provider", s.e.key.Provider, "error", err.Error())
	}
}
