package script

import (
	"context"
	"runtime"
	"sync"
	"time"

	"github.com/keygate/keygate/signer"
)

// cpuSlots bounds how many scripts execute JavaScript at once in this process: one per
// GOMAXPROCS. A script's time limit is wall-clock (goja's Interrupt is all there is), so without
// the bound a burst of N scripts on P processors shares them N ways, each runs N/P times slower
// than it would alone, and a legitimate 1 ms script is interrupted as if it looped. With it, a
// script waits for a slot first (bounded by the request's context, i.e. Envoy's message
// timeout) and its budget starts only once it runs. Host calls (the token endpoint, waiting for
// another request's token fetch) give the slot back, so a waiting script never holds a
// processor a running one needs.
//
// The slots are shared fairly between tenants (providers, in a config without tenants): while
// another tenant has run scripts within sharingWindow, a tenant holds at most P-1 of them (1
// when P is 1), and a freed slot goes to the first waiter whose tenant is under its share. One
// tenant's looping or heavy scripts, each holding a slot up to its time limit, therefore never
// take every processor from the other tenants' scripts; a tenant alone uses them all.
//
// A script resuming after a host call goes before scripts that have not started: it holds a
// pooled runtime, and letting new ones in first only takes more runtimes from the pool (with a
// single slot, that churn cost 10x the throughput).
var cpuSlots = newScheduler(max(1, runtime.GOMAXPROCS(0)))

// sharingWindow is how recently another tenant must have run a script for the share to apply.
const sharingWindow = 2 * time.Second

type scheduler struct {
	mu       sync.Mutex
	size     int
	free     int
	held     map[string]int
	lastSeen map[string]time.Time // when each tenant last took (or waited for) a slot
	waiting  []*waiter            // resuming scripts first, then in arrival order
	now      func() time.Time
}

type waiter struct {
	tenant   string
	resuming bool
	ready    chan struct{} // closed when granted
}

func newScheduler(n int) *scheduler {
	return &scheduler{size: n, free: n, held: map[string]int{}, lastSeen: map[string]time.Time{}, now: time.Now}
}

// capacity is how many scripts may run at once.
func (s *scheduler) capacity() int { return s.size }

// share is how many slots tenant may hold now: all of them while it is the only tenant running
// scripts, one less while another one is.
func (s *scheduler) share(tenant string) int {
	now := s.now()
	for t, at := range s.lastSeen {
		if t == tenant {
			continue
		}
		if s.held[t] > 0 || now.Sub(at) < sharingWindow {
			return max(1, s.size-1)
		}
		delete(s.lastSeen, t)
	}
	return s.size
}

func (s *scheduler) acquire(ctx context.Context, tenant string, resuming bool) error {
	s.mu.Lock()
	if s.free > 0 && s.held[tenant] < s.share(tenant) {
		s.grant(tenant)
		s.mu.Unlock()
		return nil
	}
	w := &waiter{tenant: tenant, resuming: resuming, ready: make(chan struct{})}
	at := len(s.waiting)
	if resuming {
		for at = 0; at < len(s.waiting) && s.waiting[at].resuming; at++ {
		}
	}
	s.waiting = append(s.waiting[:at], append([]*waiter{w}, s.waiting[at:]...)...)
	s.lastSeen[tenant] = s.now() // a waiting tenant counts as running scripts
	s.mu.Unlock()
	select {
	case <-w.ready:
		return nil
	case <-ctx.Done():
		s.mu.Lock()
		defer s.mu.Unlock()
		select {
		case <-w.ready: // granted meanwhile: hand it on
			s.put(tenant)
		default:
			for i, x := range s.waiting {
				if x == w {
					s.waiting = append(s.waiting[:i], s.waiting[i+1:]...)
					break
				}
			}
		}
		return ctx.Err()
	}
}

func (s *scheduler) release(tenant string) {
	s.mu.Lock()
	s.put(tenant)
	s.mu.Unlock()
}

func (s *scheduler) grant(tenant string) {
	s.free--
	s.held[tenant]++
	s.lastSeen[tenant] = s.now()
}

// put frees tenant's slot and hands free slots to the first waiters under their share.
func (s *scheduler) put(tenant string) {
	s.free++
	if s.held[tenant]--; s.held[tenant] <= 0 {
		delete(s.held, tenant)
	}
	for i := 0; i < len(s.waiting) && s.free > 0; {
		w := s.waiting[i]
		if s.held[w.tenant] >= s.share(w.tenant) {
			i++
			continue
		}
		s.grant(w.tenant)
		close(w.ready)
		s.waiting = append(s.waiting[:i], s.waiting[i+1:]...)
	}
}

// fairShare is whose share of the slots an exchange runs on: its tenant, or, in a config
// without tenants, its provider.
func fairShare(x *signer.Exchange) string {
	if x.Tenant != "" {
		return "tenant " + x.Tenant
	}
	return "provider " + x.Provider
}

// slot is one invocation's claim on cpuSlots.
type slot struct {
	held    bool
	started bool // the invocation has run: a later acquire resumes it
	tenant  string
}

// acquire waits for a slot or for ctx to end.
func (s *slot) acquire(ctx context.Context) error {
	if s.held {
		return nil
	}
	if err := cpuSlots.acquire(ctx, s.tenant, s.started); err != nil {
		return err
	}
	s.held, s.started = true, true
	return nil
}

func (s *slot) release() {
	if s.held {
		cpuSlots.release(s.tenant)
		s.held = false
	}
}
