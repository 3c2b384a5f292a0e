package script

import (
	"context"
	"runtime"
)

// cpuSlots bounds how many scripts execute JavaScript at once in this process: one per
// GOMAXPROCS. A script's time limit is wall-clock (goja's Interrupt is all there is), so without
// the bound a burst of N scripts on P processors shares them N ways, each runs N/P times slower
// than it would alone, and a legitimate 1 ms script is interrupted as if it looped. With it, a
// script waits for a slot first (bounded by the request's context, i.e. Envoy's message
// timeout) and its budget starts only once it runs. Host calls (the token endpoint, waiting for
// another request's token fetch) give the slot back, so a waiting script never holds a
// processor a running one needs.
var cpuSlots = make(chan struct{}, max(1, runtime.GOMAXPROCS(0)))

// slot is one invocation's claim on cpuSlots.
type slot struct{ held bool }

// acquire waits for a slot or for ctx to end.
func (s *slot) acquire(ctx context.Context) error {
	if s.held {
		return nil
	}
	select {
	case cpuSlots <- struct{}{}:
		s.held = true
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *slot) release() {
	if s.held {
		<-cpuSlots
		s.held = false
	}
}
