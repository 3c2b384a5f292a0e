package script

import (
	"context"
	"runtime"
	"sync"
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
// The slots are shared fairly between tenants: a tenant holds at most P-1 of them (1 when P is
// 1), and a freed slot goes to the first waiter whose tenant is under that share. One tenant's
// looping or heavy scripts, each holding a slot up to its time limit, therefore never take every
// processor from the other tenants' scripts.
var cpuSlots = newScheduler(max(1, runtime.GOMAXPROCS(0)))

type scheduler struct {
	mu        sync.Mutex
	size      int
	free      int
	perTenant int
	held      map[string]int
	waiting   []*waiter // in arrival order
}

type waiter struct {
	tenant string
	ready  chan struct{} // closed when granted
}

func newScheduler(n int) *scheduler {
	return &scheduler{size: n, free: n, perTenant: max(1, n-1), held: map[string]int{}}
}

// capacity is how many scripts may run at once.
func (s *scheduler) capacity() int { return s.size }

func (s *scheduler) acquire(ctx context.Context, tenant string) error {
	s.mu.Lock()
	if s.free > 0 && s.held[tenant] < s.perTenant {
		s.grant(tenant)
		s.mu.Unlock()
		return nil
	}
	w := &waiter{tenant: tenant, ready: make(chan struct{})}
	s.waiting = append(s.waiting, w)
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
}

// put frees tenant's slot and hands free slots to the first waiters under their share.
func (s *scheduler) put(tenant string) {
	s.free++
	if s.held[tenant]--; s.held[tenant] <= 0 {
		delete(s.held, tenant)
	}
	for i := 0; i < len(s.waiting) && s.free > 0; {
		w := s.waiting[i]
		if s.held[w.tenant] >= s.perTenant {
			i++
			continue
		}
		s.grant(w.tenant)
		close(w.ready)
		s.waiting = append(s.waiting[:i], s.waiting[i+1:]...)
	}
}

// slot is one invocation's claim on cpuSlots.
type slot struct {
	held   bool
	tenant string
}

// acquire waits for a slot or for ctx to end.
func (s *slot) acquire(ctx context.Context) error {
	if s.held {
		return nil
	}
	if err := cpuSlots.acquire(ctx, s.tenant); err != nil {
		return err
	}
	s.held = true
	return nil
}

func (s *slot) release() {
	if s.held {
		cpuSlots.release(s.tenant)
		s.held = false
	}
}
