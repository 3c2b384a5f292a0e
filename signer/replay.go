package signer

import (
	"strconv"
	"sync"
	"time"
)

// replayGuard remembers the callbacks a step accepted within its timestamp window, so that the
// same signed callback is delivered to the service once per replica. Memory is bounded: at
// most max entries, each dropped once its timestamp has left the window (a callback that old
// is refused by the timestamp check anyway, so forgetting it reopens nothing). When the guard
// is full of entries still inside the window, new callbacks are refused (fail closed; the
// provider retries later) rather than evicting an entry whose replay would then pass.
//
// It is per process and provider, kept across config versions (sharedReplayGuard); replicas
// share nothing, so a replay sent to
// another replica within the window is delivered once more there (docs/callbacks.md: the
// service must be idempotent on the payment's id, as WeChat Pay itself redelivers).
type replayGuard struct {
	window time.Duration
	max    int

	mu    sync.Mutex
	seen  map[string]time.Time // key -> the callback's own timestamp
	order []replayEntry        // insertion order, for expiry
}

type replayEntry struct {
	key string
	ts  time.Time
}

func newReplayGuard(window time.Duration, max int) *replayGuard {
	return &replayGuard{window: window, max: max, seen: map[string]time.Time{}}
}

// replayGuards are the guards of the callback providers this process has built, by provider
// and scheme. Every config version compiles its steps afresh, and a tenant re-applies the
// config whenever it writes one of its secrets (admin putSecret): a guard per step would let
// any tenant reopen the replay of every other provider's callbacks at will. So a provider's
// guard outlives the version that built it. A removed provider's guard stays (bounded by its
// capacity); the names a process ever configures are few.
var replayGuards = struct {
	sync.Mutex
	m map[string]*replayGuard
}{m: map[string]*replayGuard{}}

// sharedReplayGuard is the guard of a provider's callback scheme with this window and
// capacity, made on first use. The parameters are part of the key, so that compiling a config
// (a dry run, a candidate never applied) cannot change the guard a running version uses; a
// provider whose max_skew or replay_capacity changes starts an empty guard.
func sharedReplayGuard(provider, scheme string, window time.Duration, capacity int) *replayGuard {
	key := provider + "\x00" + scheme + "\x00" + window.String() + "\x00" + strconv.Itoa(capacity)
	replayGuards.Lock()
	defer replayGuards.Unlock()
	g, ok := replayGuards.m[key]
	if !ok {
		g = newReplayGuard(window, capacity)
		replayGuards.m[key] = g
	}
	return g
}

// errReplayFull and errReplayed are the guard's two refusals.
type replayRefusal int

const (
	replayOK replayRefusal = iota
	replayed
	replayFull
)

// check records key (a callback's identity) with its timestamp ts, now being the clock's time.
func (g *replayGuard) check(key string, ts, now time.Time) replayRefusal {
	g.mu.Lock()
	defer g.mu.Unlock()
	// Forget what left the window. Entries are in insertion order, not timestamp order, so a
	// pass stops at the first still-fresh one: the bound is kept by max either way.
	for len(g.order) > 0 && now.Sub(g.order[0].ts) > g.window {
		if t, ok := g.seen[g.order[0].key]; ok && t.Equal(g.order[0].ts) {
			delete(g.seen, g.order[0].key)
		}
		g.order = g.order[1:]
	}
	if _, dup := g.seen[key]; dup {
		return replayed
	}
	if len(g.seen) >= g.max {
		return replayFull
	}
	g.seen[key] = ts
	g.order = append(g.order, replayEntry{key, ts})
	return replayOK
}
