package script

import (
	"context"
	"fmt"
	mrand "math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/dop251/goja"

	"github.com/keygate/keygate/internal/failure"
	"github.com/keygate/keygate/signer"
)

// callState is the per-invocation state the built-ins of one pooled runtime close over. The
// built-ins are installed once per runtime; begin and end swap the state in and out, so an
// invocation allocates no new functions.
type callState struct {
	rt     *goja.Runtime
	step   *Step
	budget *budget

	jsonParse, jsonStringify goja.Callable // captured before the script runs: it cannot replace them

	ctx       context.Context
	x         *signer.Exchange
	handles   handleTable
	violation error // a secret reached an output: the invocation fails whatever the script does
	slot      slot

	inResponse bool           // the response function runs: providerCiphertext may accept
	mem        meter          // this invocation's memory budget (memory.go)
	rng        *mrand.ChaCha8 // Math.random of this invocation, seeded from its nonce (encoding.go)
	forms      []string       // the forms of x.Sensitive[:formsOf] that readers look for (request_read.go)
	formsOf    int
	// chunk carries text into a hash without a copy of its own (writeText); cleared after each use.
	chunk [512]byte
	// scratch is lent for data that never reaches the script or the caller (borrow, giveBack
	// in scratch.go): wiped each time it comes back.
	scratch []byte
	// echo holds the request's texts as the echo check reads them (echo.go), for one invocation.
	echo echoViews
	// absent is the first request body field the script read and the caller did not send
	// (reqBody.get gave undefined): when the script then fails, the caller's request is why.
	absent string
}

func (st *callState) begin(ctx context.Context, x *signer.Exchange) {
	st.ctx, st.x, st.violation = ctx, x, nil
	st.inResponse, st.rng, st.absent = false, nil, ""
	st.forms, st.formsOf = st.forms[:0], 0
	st.mem.reset(st.step.memory)
	st.handles.reset()
}

func (st *callState) end() {
	st.ctx, st.x = nil, nil
	st.handles.clear()
	clear(st.forms) // they are secrets' forms: not kept past the invocation
	st.echo.release()
}

// throw raises err as a JavaScript exception; classify recovers a *failure.Error from it.
func (st *callState) throw(err error) {
	panic(st.rt.NewGoError(err))
}

// typeError raises a TypeError with a message for the script author.
func (st *callState) typeError(format string, args ...any) {
	panic(st.rt.NewTypeError(fmt.Sprintf(format, args...)))
}

// violate fails the invocation because a secret reached sink.
func (st *callState) violate(sink string) {
	st.fatal(sinkError(sink))
}

// fatal fails the invocation with err, whatever the script does: the interrupt makes it
// uncatchable, so a try/catch cannot turn a refused use of a secret, or a failed decryption
// under a secret key, into a bit the script reads and acts on (an oracle).
func (st *callState) fatal(err error) {
	if st.violation == nil {
		st.violation = err
	}
	st.rt.Interrupt(st.violation)
	st.throw(st.violation)
}

// plain returns s for an output, violating if it holds a marker.
func (st *callState) plain(v goja.Value, sink string) string {
	s := v.String()
	if hasMarker(s) {
		st.violate(sink)
	}
	return s
}

// outside runs a host call (keystore, token store, HTTP) off the script's time budget: those
// have their own timeouts, and a cold Vault cache must not time out the script.
func (st *callState) outside(f func()) {
	st.budget.pause()
	watcher.stop(st)
	st.slot.release()
	defer st.budget.resume()
	f()
	// If the request ended while this call ran, the budget has already interrupted the runtime
	// (run.go): it runs to that interrupt without a slot rather than waiting for one.
	_ = st.slot.acquire(st.ctx)
	watcher.start(st, st.mem.limit)
}

// indexMarkerStart finds the next marker or stray marker character. U+E000 and U+E001 are
// EE 80 80 and EE 80 81 in UTF-8, and EE is never a continuation byte, so a byte search finds
// exactly the characters a loop over the runes would (invalid bytes included); it is
// vectorised, where the rune loop decoded the article's 6 KiB sign string one rune at a time
// (profiled).
func indexMarkerStart(s string) int {
	for i := 0; ; i++ {
		j := strings.Index(s[i:], "\xee\x80")
		if j < 0 {
			return -1
		}
		i += j
		if i+2 < len(s) && (s[i+2] == 0x80 || s[i+2] == 0x81) {
			return i
		}
	}
}

// budget is a runtime's time limit: a reusable timer that interrupts the runtime. Host calls
// (the token HTTP call) pause it, so a slow token endpoint is bounded by its own timeout.
type budget struct {
	rt    *goja.Runtime
	timer *time.Timer

	mu        sync.Mutex
	armed     bool
	fired     error
	left      time.Duration
	startedAt time.Time
	// deadline is when the running budget ends (far away while paused). The timer's function
	// checks it: a timer that expired as stop ran calls fire after stop has returned, and
	// without the check it interrupted the next start's code at once (under load, the freeze
	// after a 50ms top level failed "ran out of time" in milliseconds).
	deadline time.Time
}

var errTimedOut = failure.New(failure.Timeout, "script", "script ran out of time")

func newBudget(rt *goja.Runtime) *budget {
	b := &budget{rt: rt}
	b.timer = time.AfterFunc(time.Hour, func() { b.fire(errTimedOut) })
	b.timer.Stop()
	return b
}

func (b *budget) lock()   { b.mu.Lock() }
func (b *budget) unlock() { b.mu.Unlock() }

func (b *budget) start(d time.Duration) {
	b.lock()
	b.armed, b.fired, b.left, b.startedAt = true, nil, d, time.Now()
	b.deadline = b.startedAt.Add(d)
	b.timer.Reset(d)
	b.unlock()
}

// fire interrupts the runtime once, if the budget is still armed (a late timer after stop does
// nothing).
func (b *budget) fire(err error) {
	b.lock()
	defer b.unlock()
	if !b.armed || b.fired != nil || (err == errTimedOut && time.Now().Before(b.deadline)) {
		return
	}
	b.fired = err
	b.rt.Interrupt(err)
}

func (b *budget) pause() {
	b.lock()
	if b.armed && b.fired == nil && b.timer.Stop() {
		b.left -= time.Since(b.startedAt)
		b.deadline = b.startedAt.Add(100 * 365 * 24 * time.Hour) // no time runs outside
	}
	b.unlock()
}

func (b *budget) resume() {
	b.lock()
	if b.armed && b.fired == nil {
		b.startedAt = time.Now()
		b.deadline = b.startedAt.Add(max(b.left, 0))
		b.timer.Reset(max(b.left, 0))
	}
	b.unlock()
}

// stop disarms the budget and reports the error it interrupted with, if any.
// expired reports whether the running budget has ended (fired, or past its deadline before
// the timer's function ran): for native code that runs long between JavaScript operations
// (the echo check) to stop on its own.
func (b *budget) expired() bool {
	b.lock()
	defer b.unlock()
	return b.armed && (b.fired != nil || time.Now().After(b.deadline))
}

func (b *budget) stop() error {
	b.lock()
	b.armed = false
	b.timer.Stop()
	err := b.fired
	b.unlock()
	return err
}
