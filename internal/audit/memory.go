package audit

import (
	"cmp"
	"context"
	"slices"
	"sync"
)

// DefaultMemoryCapacity is how many events a Memory sink keeps per tenant by default.
const DefaultMemoryCapacity = 10000

// AnonymousCapacity is how many events of unauthenticated callers a Memory keeps: they have a
// ring of their own, so that a flood of token-less requests cannot evict real events.
const AnonymousCapacity = 1000

// anonymous is the ring key of admin events with no authenticated actor.
const anonymous = "\x00anonymous"

// Memory keeps the latest events per tenant and kind (and gateway-wide, and anonymous) in rings, for
// the admin API's audit query and for tests. Retention is per ring: one tenant's volume, or an
// unauthenticated flood, never evicts another tenant's events.
type Memory struct {
	mu       sync.Mutex
	capacity int
	seq      uint64
	rings    map[ringID]*ring
}

type stored struct {
	seq uint64
	e   Event
}

type ring struct {
	events []stored
	next   int
	full   bool
}

func (r *ring) add(s stored) {
	r.events[r.next] = s
	r.next = (r.next + 1) % len(r.events)
	r.full = r.full || r.next == 0
}

func (r *ring) all() []stored {
	if !r.full {
		return r.events[:r.next]
	}
	return append(slices.Clone(r.events[r.next:]), r.events[:r.next]...)
}

// NewMemory keeps the latest capacity events per tenant (DefaultMemoryCapacity when
// capacity <= 0).
func NewMemory(capacity int) *Memory {
	if capacity <= 0 {
		capacity = DefaultMemoryCapacity
	}
	return &Memory{capacity: capacity, rings: map[ringID]*ring{}}
}

// ringID names a ring: a tenant ("" for gateway-wide) and the kind of its events, or the
// anonymous ring.
type ringID struct {
	tenant, kind string
}

// ringKey: an admin event without an actor is anonymous whatever tenant it names (the tenant
// of an unauthenticated request is only what its URL claims). Request events and admin events
// of a tenant are kept apart: request volume (any caller's, when it failed before keygate knew
// its tenant) must not evict the admin trail.
func ringKey(e Event) ringID {
	if a, ok := e.(Admin); ok && a.Actor == "" {
		return ringID{tenant: anonymous, kind: KindAdmin}
	}
	return ringID{tenant: e.TenantName(), kind: e.Kind()}
}

func (m *Memory) Write(_ context.Context, e Event) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	key := ringKey(e)
	r := m.rings[key]
	if r == nil {
		n := m.capacity
		if key.tenant == anonymous {
			n = min(n, AnonymousCapacity)
		}
		r = &ring{events: make([]stored, n)}
		m.rings[key] = r
	}
	m.seq++
	r.add(stored{seq: m.seq, e: e})
	return nil
}

// Filter selects events. Zero fields match everything.
type Filter struct {
	Tenant string // exact tenant; "" matches every tenant
	Kind   string // KindAdmin or KindSign
	Limit  int    // the newest Limit matches; 0: all
}

// Query returns the matching events, oldest first. A tenant's query reads only its own ring.
func (m *Memory) Query(f Filter) []Event {
	m.mu.Lock()
	var all []stored
	for key, r := range m.rings {
		if (f.Tenant == "" || key.tenant == f.Tenant) && (f.Kind == "" || key.kind == f.Kind) {
			all = append(all, r.all()...)
		}
	}
	m.mu.Unlock()
	slices.SortFunc(all, func(a, b stored) int { return cmp.Compare(a.seq, b.seq) })
	var out []Event
	for _, s := range all {
		if (f.Tenant == "" || s.e.TenantName() == f.Tenant) && (f.Kind == "" || s.e.Kind() == f.Kind) {
			out = append(out, s.e)
		}
	}
	if f.Limit > 0 && len(out) > f.Limit {
		out = out[len(out)-f.Limit:]
	}
	return out
}
