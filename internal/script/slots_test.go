package script

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keygate/keygate/internal/secret"
)

// concurrencyHandler counts how many scripts are between their log("in") and log("out").
type concurrencyHandler struct {
	running, peak atomic.Int64
}

func (h *concurrencyHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *concurrencyHandler) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *concurrencyHandler) WithGroup(string) slog.Handler            { return h }
func (h *concurrencyHandler) Handle(_ context.Context, r slog.Record) error {
	r.Attrs(func(a slog.Attr) bool {
		switch {
		case a.Key != "msg":
		case a.Value.String() == "in":
			n := h.running.Add(1)
			for p := h.peak.Load(); n > p && !h.peak.CompareAndSwap(p, n); p = h.peak.Load() {
			}
		case a.Value.String() == "out":
			h.running.Add(-1)
		}
		return true
	})
	return nil
}

// A burst of scripts runs at most one per processor: the rest wait for a slot before their time
// limit starts, instead of sharing the processors and being interrupted for being starved.
func TestScriptsRunAtMostOnePerProcessor(t *testing.T) {
	h := &concurrencyHandler{}
	s := compileInline(t, `function (reqHeaders, reqParams, reqBody) {
		log("in"); var x = 0; for (var i = 0; i < 300000; i++) { x += i }; log("out")
	}`, Options{DefaultTimeout: 10 * time.Second, Logger: slog.New(h)})
	n := 3 * cpuSlots.capacity()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Go(func() { errs <- s.SignRequest(t.Context(), newExchange("/x", `{}`, nil)) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if peak := h.peak.Load(); peak < 1 || peak > int64(cpuSlots.capacity()) {
		t.Fatalf("%d scripts ran at once, want 1 to %d (GOMAXPROCS)", peak, cpuSlots.capacity())
	}
}

// blockingTokens holds token_load until released: a script waiting for another request's token
// fetch.
type blockingTokens struct {
	fakeTokens
	waiting chan struct{}
	release chan struct{}
}

func (b *blockingTokens) Load(ctx context.Context) (secret.Value, bool) {
	b.waiting <- struct{}{}
	<-b.release
	return b.fakeTokens.Load(ctx)
}

// A script blocked in a host call gives its slot back: with every slot's script waiting for a
// token, another script still runs.
func TestWaitingScriptGivesItsProcessorBack(t *testing.T) {
	s := compileInline(t, `function (reqHeaders, reqParams, reqBody) {
		if (reqHeaders.getURI() === "/wait") { token_load() }
		reqHeaders.set("x-ran", "yes")
	}`, Options{DefaultTimeout: 10 * time.Second})
	tokens := &blockingTokens{waiting: make(chan struct{}), release: make(chan struct{})}
	var wg sync.WaitGroup
	defer wg.Wait()
	defer close(tokens.release)
	for range cpuSlots.capacity() {
		wg.Go(func() { _ = s.SignRequest(t.Context(), newExchange("/wait", `{}`, tokens)) })
		<-tokens.waiting
	}
	done := make(chan error, 1)
	go func() { done <- s.SignRequest(t.Context(), newExchange("/run", `{}`, nil)) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a script waited for a slot held by scripts blocked in token_load")
	}
}

// TestSlotsAreFairBetweenTenants: with two slots, one tenant holds at most one, so another
// tenant's script never waits behind it; a freed slot goes to the first waiter under its share.
func TestSlotsAreFairBetweenTenants(t *testing.T) {
	s := newScheduler(2)
	ctx := t.Context()
	if err := s.acquire(ctx, "victim", false); err != nil { // the victim has run recently
		t.Fatal(err)
	}
	s.release("victim")
	if err := s.acquire(ctx, "bomber", false); err != nil {
		t.Fatal(err)
	}
	second := make(chan error, 1)
	go func() { second <- s.acquire(ctx, "bomber", false) }()
	waitFor(t, func() bool { s.mu.Lock(); defer s.mu.Unlock(); return len(s.waiting) == 1 })
	if err := s.acquire(ctx, "victim", false); err != nil { // immediately: the bomber is at its share
		t.Fatal(err)
	}
	s.release("victim")
	select {
	case <-second:
		t.Fatal("the bomber's second script got a second slot")
	default:
	}
	s.release("bomber")
	if err := <-second; err != nil {
		t.Fatal(err)
	}
	gone, cancel := context.WithCancel(ctx)
	cancel()
	if err := s.acquire(gone, "bomber", false); err == nil {
		t.Fatal("a canceled wait got a slot")
	}
	s.release("bomber")
	if s.free != 2 || len(s.held) != 0 || len(s.waiting) != 0 {
		t.Fatalf("free %d held %v waiting %d, want everything back", s.free, s.held, len(s.waiting))
	}
	// Alone (the victim not seen for a while), a tenant uses every slot.
	s.now = func() time.Time { return time.Now().Add(time.Minute) }
	for range 2 {
		if err := s.acquire(ctx, "bomber", false); err != nil {
			t.Fatal(err)
		}
	}
	s.release("bomber")
	s.release("bomber")
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for range 1000 {
		if cond() {
			return
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatal("condition never held")
}
