package script

import (
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dop251/goja"
)

// fakeHeap is the heap a test's own watchdog reads: set by the test, sampled by the watchdog.
type fakeHeap struct {
	mu    sync.Mutex
	bytes uint64
	reads int
}

func (f *fakeHeap) read() uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reads++
	return f.bytes
}

func (f *fakeHeap) set(b uint64) {
	f.mu.Lock()
	f.bytes = b
	f.mu.Unlock()
}

// sampled waits until the watchdog has read the heap n more times.
func (f *fakeHeap) sampled(t *testing.T, n int) {
	t.Helper()
	f.mu.Lock()
	want := f.reads + n
	f.mu.Unlock()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		f.mu.Lock()
		done := f.reads >= want
		f.mu.Unlock()
		if done {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the watchdog stopped sampling the heap")
		}
	}
}

// watchedScript is a callState with a running time budget, which the watchdog interrupts.
func watchedScript(t *testing.T) *callState {
	rt := goja.New()
	st := &callState{rt: rt, budget: newBudget(rt)}
	st.budget.start(time.Minute)
	t.Cleanup(func() { st.budget.stop() })
	return st
}

func interruptedBy(st *callState) error {
	st.budget.lock()
	defer st.budget.unlock()
	return st.budget.fired
}

// waitInterrupt waits for the watchdog to interrupt st.
func waitInterrupt(t *testing.T, st *callState) error {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if err := interruptedBy(st); err != nil {
			return err
		}
	}
	t.Fatal("the watchdog did not interrupt the script")
	return nil
}

// TestWatchdogAllowsTwiceTheBudgetPlusSlack: a running script may grow the heap by twice its
// memory budget plus watchSlack (docs/custom-mode.md); a byte more interrupts it, with the
// growth in the message. A heap that shrank below where the script started (a collection) is
// no growth.
func TestWatchdogAllowsTwiceTheBudgetPlusSlack(t *testing.T) {
	const base, limit = 1 << 30, 1 << 20
	heap := &fakeHeap{bytes: base}
	w := &watchdog{running: map[*callState]watched{}, heap: heap.read}
	st := watchedScript(t)
	w.start(st, limit)
	defer w.stop(st)

	heap.set(base - 4<<20)
	heap.sampled(t, 3)
	heap.set(base + 2*limit + watchSlack)
	heap.sampled(t, 3)
	if err := interruptedBy(st); err != nil {
		t.Fatalf("interrupted at its allowance: %v", err)
	}
	heap.set(base + 2*limit + watchSlack + 1)
	err := waitInterrupt(t, st)
	if want := "memory budget of 1048576 bytes (the heap grew by 34 MiB while it ran)"; !strings.Contains(err.Error(), want) {
		t.Fatalf("err = %v, want %q", err, want)
	}
}

// TestWatchdogInterruptsTheLargestGrowth: when several running scripts are over their
// allowance, one sample interrupts the one whose heap grew most; the others start afresh from
// that sample (the heap does not say who allocated), so they are not interrupted with it.
func TestWatchdogInterruptsTheLargestGrowth(t *testing.T) {
	const base, limit = 1 << 30, 1 << 20
	allowance := uint64(2*limit + watchSlack)
	for i := range 10 { // the running scripts are a map: its order differs run to run
		t.Run(strconv.Itoa(i), func(t *testing.T) {
			heap := &fakeHeap{bytes: base}
			w := &watchdog{running: map[*callState]watched{}, heap: heap.read}
			first, second := watchedScript(t), watchedScript(t)
			w.start(first, limit)
			defer w.stop(first)
			heap.set(base + 5<<20)
			w.start(second, limit) // started 5 MiB later: it grew 5 MiB less
			defer w.stop(second)
			heap.set(base + 5<<20 + allowance + 1<<20)
			err := waitInterrupt(t, first)
			if want := "(the heap grew by 40 MiB while it ran)"; !strings.Contains(err.Error(), want) {
				t.Fatalf("err = %v, want %q", err, want)
			}
			heap.sampled(t, 3)
			if err := interruptedBy(second); err != nil {
				t.Fatalf("the script that grew less was interrupted too: %v", err)
			}
		})
	}
}

// TestWatchdogSamplesAgainAfterAnIdleSpell: the sampling goroutine ends when no script runs
// and starts again with the next one.
func TestWatchdogSamplesAgainAfterAnIdleSpell(t *testing.T) {
	const base, limit = 1 << 30, 1 << 20
	heap := &fakeHeap{bytes: base}
	w := &watchdog{running: map[*callState]watched{}, heap: heap.read}
	idle := watchedScript(t)
	w.start(idle, limit)
	heap.sampled(t, 2)
	w.stop(idle)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		w.mu.Lock()
		active := w.active
		w.mu.Unlock()
		if !active {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the watchdog kept sampling with no script running")
		}
	}
	st := watchedScript(t)
	w.start(st, limit)
	defer w.stop(st)
	heap.set(base + 2*limit + watchSlack + 1)
	waitInterrupt(t, st)
}

// TestHeapBytesReadsTheHeap: the process watchdog's heap reading is the live heap (a reading of
// nothing would never see a script's growth).
func TestHeapBytesReadsTheHeap(t *testing.T) {
	runtime.GC() // no garbage in the first reading for a collection to take out of the second
	before := heapBytes()
	keep := make([]byte, 64<<20)
	after := heapBytes()
	if before == 0 || after < before+32<<20 {
		t.Fatalf("heap %d bytes, then %d after a 64 MiB allocation", before, after)
	}
	keep[0] = 1
	_ = keep[0]
}
