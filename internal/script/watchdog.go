package script

import (
	"runtime/metrics"
	"sync"
	"time"

	"github.com/keygate/keygate/internal/failure"
)

// The watchdog catches memory a script grows one JavaScript operation at a time, which no
// built-in wrapper sees: `s += s` in a loop doubles a string per operation, `a[i] = i` adds an
// element. goja counts none of it, so while scripts run JavaScript (hold a slot) the watchdog
// samples the Go heap every watchInterval, and interrupts a running script once the heap has
// grown by more than its allowance since it last took its slot. A script's own time limit also
// bounds this growth (at the default 50ms, about 150 MB); the watchdog matters for providers
// that allow longer. An interrupt lands between operations, so the overshoot is at most one
// operation (one doubling).
const watchInterval = 2 * time.Millisecond

// watchSlack is added to a script's allowance: the heap also grows with what the rest of the
// process allocates while the script runs, and with garbage not yet collected.
const watchSlack = 32 << 20

const heapMetric = "/memory/classes/heap/objects:bytes"

type watchdog struct {
	mu      sync.Mutex
	running map[*callState]watched
	active  bool          // the sampling goroutine runs
	heap    func() uint64 // heapBytes; a test's own watchdog reads a heap it sets
}

type watched struct {
	heap, allowance uint64 // heap bytes when the script took its slot; growth it may cause
	limit           int64
}

var watcher = &watchdog{running: map[*callState]watched{}, heap: heapBytes}

func heapBytes() uint64 {
	s := []metrics.Sample{{Name: heapMetric}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s[0].Value.Uint64()
}

// start records that st runs JavaScript from now on, under its memory budget limit.
func (w *watchdog) start(st *callState, limit int64) {
	h := w.heap()
	w.mu.Lock()
	defer w.mu.Unlock()
	w.running[st] = watched{heap: h, allowance: uint64(limit)*2 + watchSlack, limit: limit}
	if !w.active {
		w.active = true
		go w.loop()
	}
}

// stop records that st no longer runs JavaScript (a host call, or the end).
func (w *watchdog) stop(st *callState) {
	w.mu.Lock()
	delete(w.running, st)
	w.mu.Unlock()
}

// loop samples while any script runs, and ends when none does.
func (w *watchdog) loop() {
	t := time.NewTicker(watchInterval)
	defer t.Stop()
	type hit struct {
		st    *callState
		grew  uint64
		limit int64
	}
	for range t.C {
		h := w.heap()
		var over []hit
		w.mu.Lock()
		if len(w.running) == 0 {
			w.active = false
			w.mu.Unlock()
			return
		}
		// One script per sample: the one whose growth is largest; the others start afresh from
		// here. The heap does not say who allocated, so a script that took its slot before a
		// neighbour's bomb and is still running when the heap fills may be the one interrupted;
		// the bomb is then interrupted at its own allowance. (docs/custom-mode.md, Sandbox)
		var worst *callState
		var worstGrew uint64
		for st, e := range w.running {
			if h > e.heap && h-e.heap > e.allowance && h-e.heap > worstGrew {
				worst, worstGrew = st, h-e.heap
			}
		}
		if worst != nil {
			over = append(over, hit{worst, worstGrew, w.running[worst].limit})
			delete(w.running, worst) // interrupted once
			for st, e := range w.running {
				e.heap = h
				w.running[st] = e
			}
		}
		w.mu.Unlock()
		for _, o := range over {
			o.st.budget.fire(failure.New(failure.Internal, "script",
				"script went over its memory budget of %d bytes (the heap grew by %d MiB while it ran)", o.limit, o.grew>>20))
		}
	}
}
