// Package token is keygate's token manager, the first step of two-step verification: a
// provider's bearer token is fetched from its token endpoint once at a time per tenant and
// provider (single flight), cached, refreshed ahead of expiry in the background, purged when the
// provider rejects it, and shared through a Store so that a fleet of replicas fetches once.
//
// Tokens are secrets: they stay secret.Value, and no error or log line this package writes
// carries a token or a token endpoint's response body.
package token

import (
	"context"
	"time"

	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/internal/secret"
)

// stage is the failure stage every error of this package names.
const stage = "token"

// Defaults of a token source's policy (config.TokenSource documents the first three).
const (
	DefaultTimeout         = config.DefaultTokenTimeout
	DefaultRefreshBefore   = 60 * time.Second
	DefaultBackoffMin      = 250 * time.Millisecond
	DefaultBackoffMax      = 30 * time.Second
	DefaultInvalidateGrace = time.Second
)

// Token is a bearer token and the instant it stops being valid.
type Token struct {
	Value  secret.Value
	Expiry time.Time
}

// validAt reports whether t is a token that has not expired at now.
func (t Token) validAt(now time.Time) bool { return !t.Value.IsZero() && now.Before(t.Expiry) }

// Key names one cached token: a provider as one tenant uses it.
type Key struct {
	Tenant   string
	Provider string
}

func (k Key) String() string {
	if k.Tenant == "" {
		return k.Provider
	}
	return k.Tenant + "/" + k.Provider
}

// Fetcher obtains a new token from a token endpoint. ctx carries the fetch timeout. Errors are
// *failure.Error with stage "token" and never contain a token or a response body.
type Fetcher interface {
	Fetch(ctx context.Context) (Token, error)
}

// FetcherFunc adapts a function to Fetcher.
type FetcherFunc func(ctx context.Context) (Token, error)

// Fetch calls f.
func (f FetcherFunc) Fetch(ctx context.Context) (Token, error) { return f(ctx) }

// Policy is how the manager treats one provider's token. Zero fields take the defaults above.
type Policy struct {
	// RefreshBefore starts a background refresh this long before expiry. For tokens living less
	// than twice as long, the refresh starts at half their lifetime instead.
	RefreshBefore time.Duration
	// Timeout bounds one fetch at the token endpoint.
	Timeout time.Duration
	// ServeStale keeps serving a token that has not expired after a refresh of it has failed
	// (stale-if-error). Without it a token inside the refresh window is served only while no
	// refresh has failed (stale-while-revalidate); an expired token is never served.
	ServeStale bool
	// RetryOn are the provider statuses that mean "token rejected": purge and retry once
	// (config.TokenSource.RetryStatuses). The manager does not read it; the gateway does.
	RetryOn []int
	// BackoffMin and BackoffMax bound the wait after a failed fetch, during which callers fail
	// fast with the last error. The wait doubles per consecutive failure, with jitter.
	BackoffMin, BackoffMax time.Duration
	// InvalidateGrace: Invalidate (without the rejected token) ignores a token younger than
	// this, so a burst of rejections of the old token purges once, not the fresh one too.
	InvalidateGrace time.Duration
}

// PolicyFrom builds the policy a token source's config declares, defaults applied.
func PolicyFrom(cfg *config.TokenSource) Policy {
	p := Policy{RetryOn: cfg.RetryStatuses()}
	if cfg != nil {
		p.Timeout = cfg.Timeout.Std()
		p.RefreshBefore = cfg.RefreshBefore.Std()
		p.ServeStale = cfg.ServeStale
	}
	return p.withDefaults()
}

// withDefaults is the one place policy defaults are applied.
func (p Policy) withDefaults() Policy {
	if p.Timeout <= 0 {
		p.Timeout = DefaultTimeout
	}
	if p.RefreshBefore <= 0 {
		p.RefreshBefore = DefaultRefreshBefore
	}
	if p.BackoffMin <= 0 {
		p.BackoffMin = DefaultBackoffMin
	}
	if p.BackoffMax <= 0 {
		p.BackoffMax = DefaultBackoffMax
	}
	if p.BackoffMax < p.BackoffMin {
		p.BackoffMax = p.BackoffMin
	}
	if p.InvalidateGrace <= 0 {
		p.InvalidateGrace = DefaultInvalidateGrace
	}
	return p
}

// refreshAt is when a token obtained at now should be refreshed: RefreshBefore ahead of
// expiry, but never before half of its remaining life, so a short-lived token is not
// refreshed on every call.
func (p Policy) refreshAt(t Token, now time.Time) time.Time {
	at := t.Expiry.Add(-p.RefreshBefore)
	if half := now.Add(t.Expiry.Sub(now) / 2); at.Before(half) {
		at = half
	}
	return at
}
