package token

import (
	"math/rand/v2"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/keygate/keygate/internal/secret"
)

// entry is the cached state of one Key, shared by every Source handed out for it.
type entry struct {
	key Key
	sf  singleflight.Group // one acquisition at a time

	mu         sync.Mutex
	tok        Token
	has        bool
	refreshAt  time.Time    // start a background refresh from here on
	since      time.Time    // when tok was set, for Policy.InvalidateGrace
	rejected   secret.Value // last token purged as rejected: never adopted from the store again
	failures   int          // consecutive failed fetches
	lastErr    error        // the last fetch error, returned fast until retryAt
	retryAt    time.Time
	refreshing bool // a background refresh is running
}

// set installs t obtained at now. The caller holds e.mu.
func (e *entry) set(t Token, now time.Time, p Policy) {
	e.tok, e.has = t, true
	e.refreshAt = p.refreshAt(t, now)
	e.since = now
	e.failures, e.lastErr, e.retryAt = 0, nil, time.Time{}
}

// purge drops the token as rejected. The caller holds e.mu.
func (e *entry) purge() {
	e.rejected = e.tok.Value
	e.tok, e.has = Token{}, false
	e.refreshAt, e.since = time.Time{}, time.Time{}
}

// fail records a failed fetch and starts the backoff. The caller holds e.mu. It returns the wait.
func (e *entry) fail(err error, now time.Time, p Policy) time.Duration {
	e.failures++
	d := backoff(p, e.failures)
	e.lastErr, e.retryAt = err, now.Add(d)
	return d
}

// backoff is the wait after the n-th consecutive failure: BackoffMin doubled per failure, capped
// at BackoffMax, with "equal jitter" (half fixed, half random) so replicas do not retry in step.
func backoff(p Policy, n int) time.Duration {
	d := p.BackoffMin
	for i := 1; i < n && d < p.BackoffMax; i++ {
		d *= 2
	}
	if d > p.BackoffMax {
		d = p.BackoffMax
	}
	half := d / 2
	return half + rand.N(half+1)
}
