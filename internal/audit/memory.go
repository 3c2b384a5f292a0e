package audit

import (
	"context"
	"sync"
)

// DefaultMemoryCapacity is how many events a Memory sink keeps by default.
const DefaultMemoryCapacity = 10000

// Memory keeps the latest events in a ring, for the admin API's audit query and for tests.
type Memory struct {
	mu     sync.Mutex
	events []Event
	next   int
	full   bool
}

// NewMemory keeps the latest capacity events (DefaultMemoryCapacity when capacity <= 0).
func NewMemory(capacity int) *Memory {
	if capacity <= 0 {
		capacity = DefaultMemoryCapacity
	}
	return &Memory{events: make([]Event, capacity)}
}

func (m *Memory) Write(_ context.Context, e Event) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.events[m.next] = e
	m.next = (m.next + 1) % len(m.events)
	if m.next == 0 {
		m.full = true
	}
	return nil
}

// Filter selects events. Zero fields match everything.
type Filter struct {
	Tenant string // exact tenant; "" matches every tenant
	Kind   string // KindAdmin or KindSign
	Limit  int    // the newest Limit matches; 0: all
}

// Query returns the matching events, oldest first.
func (m *Memory) Query(f Filter) []Event {
	m.mu.Lock()
	var all []Event
	if m.full {
		all = append(all, m.events[m.next:]...)
	}
	all = append(all, m.events[:m.next]...)
	m.mu.Unlock()

	var out []Event
	for _, e := range all {
		if (f.Tenant == "" || e.TenantName() == f.Tenant) && (f.Kind == "" || e.Kind() == f.Kind) {
			out = append(out, e)
		}
	}
	if f.Limit > 0 && len(out) > f.Limit {
		out = out[len(out)-f.Limit:]
	}
	return out
}
