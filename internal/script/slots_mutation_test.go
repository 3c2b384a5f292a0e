package script

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/keygate/keygate/signer"
)

// testScheduler is a scheduler of n slots on a clock the test moves.
func testScheduler(n int) (*scheduler, *time.Time) {
	s := newScheduler(n)
	now := time.Unix(1_700_000_000, 0)
	s.now = func() time.Time { return now }
	return s, &now
}

// tryAcquire asks for a slot without waiting: a context that has already ended stops the wait.
func tryAcquire(s *scheduler, tenant string) bool {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return s.acquire(ctx, tenant, false) == nil
}

// queue starts an acquire that waits, and returns a channel closed when it is granted; it
// returns once the waiter is in the queue.
func queue(t *testing.T, s *scheduler, ctx context.Context, tenant string, resuming bool) chan error {
	t.Helper()
	s.mu.Lock()
	n := len(s.waiting)
	s.mu.Unlock()
	done := make(chan error, 1)
	go func() { done <- s.acquire(ctx, tenant, resuming) }()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		s.mu.Lock()
		queued := len(s.waiting) > n
		s.mu.Unlock()
		if queued {
			return done
		}
		if time.Now().After(deadline) {
			t.Fatal("the acquire did not wait")
		}
	}
}

// granted waits for a queued acquire to return (a grant is decided as the slot is released;
// the waiting goroutine may take a moment to see it).
func granted(t *testing.T, done chan error) {
	t.Helper()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("acquire: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a waiter taken off the queue did not return")
	}
}

// waiting is the queue's tenants, in order.
func waiting(s *scheduler) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var order []string
	for _, w := range s.waiting {
		order = append(order, w.tenant)
	}
	return strings.Join(order, " ")
}

// TestShareOfTheSlots: a tenant alone may hold every slot; while another tenant holds one, or
// ran (or waited for) one less than sharingWindow ago, one less (at least one). A tenant's own
// past runs never shrink its share, and a tenant not seen for sharingWindow is forgotten.
func TestShareOfTheSlots(t *testing.T) {
	s, now := testScheduler(3)
	if got := s.share("a"); got != 3 {
		t.Fatalf("alone: share %d, want 3", got)
	}
	if !tryAcquire(s, "a") || s.share("a") != 3 {
		t.Fatalf("a's own slot shrank its share to %d", s.share("a"))
	}
	if !tryAcquire(s, "b") {
		t.Fatal("b got no slot of three")
	}
	if got := s.share("a"); got != 2 {
		t.Fatalf("while b holds a slot: share %d, want 2", got)
	}
	s.release("b")
	*now = now.Add(sharingWindow - time.Nanosecond)
	if got := s.share("a"); got != 2 {
		t.Fatalf("b ran just under %v ago: share %d, want 2", sharingWindow, got)
	}
	*now = now.Add(time.Nanosecond)
	if got := s.share("a"); got != 3 {
		t.Fatalf("b ran %v ago: share %d, want 3", sharingWindow, got)
	}
	if _, seen := s.lastSeen["b"]; seen {
		t.Fatal("b is still remembered")
	}

	one, _ := testScheduler(1)
	one.lastSeen["b"] = one.now()
	if got := one.share("a"); got != 1 {
		t.Fatalf("one slot shared: share %d, want 1", got)
	}
}

// TestSlotsAreCountedExactly: a slot is granted while one is free and the tenant is under its
// share, and not otherwise; releasing gives it back (held counts drop to nothing).
func TestSlotsAreCountedExactly(t *testing.T) {
	s, _ := testScheduler(2)
	for range 2 {
		if !tryAcquire(s, "a") {
			t.Fatal("a tenant alone got fewer than both slots")
		}
	}
	if tryAcquire(s, "a") || tryAcquire(s, "b") {
		t.Fatal("a third slot of two was granted")
	}
	if s.free != 0 || s.held["a"] != 2 {
		t.Fatalf("free %d, a holds %d; want 0 and 2", s.free, s.held["a"])
	}
	s.release("a")
	if s.free != 1 || s.held["a"] != 1 {
		t.Fatalf("after one release: free %d, a holds %d; want 1 and 1", s.free, s.held["a"])
	}
	// b waited above, so it counts as running scripts: a is held to one slot.
	if tryAcquire(s, "a") {
		t.Fatal("a took a second slot while b had just waited for one")
	}
	s.release("a")
	if s.free != 2 || len(s.held) != 0 {
		t.Fatalf("after both releases: free %d, held %v", s.free, s.held)
	}
}

// TestFreedSlotGoesToTheFirstWaiterUnderItsShare: a waiter whose tenant is at its share is
// passed over for the next one; resuming scripts go before scripts that have not started; a
// waiter whose context ends leaves the queue (and only it).
func TestFreedSlotGoesToTheFirstWaiterUnderItsShare(t *testing.T) {
	s, now := testScheduler(2)
	ctx := context.Background()
	if !tryAcquire(s, "a") || !tryAcquire(s, "b") {
		t.Fatal("two tenants did not get a slot each")
	}
	aWaits := queue(t, s, ctx, "a", false) // a holds its share (1 of 2 while b runs)
	cWaits := queue(t, s, ctx, "c", false) // next in line, under its share
	cancelled, cancel := context.WithCancel(ctx)
	dGivesUp := queue(t, s, cancelled, "d", false)
	eResumes := queue(t, s, ctx, "e", true) // resuming: goes before every waiter that has not started
	cancel()
	if err := <-dGivesUp; !errors.Is(err, context.Canceled) {
		t.Fatalf("d's acquire: %v, want its context's end", err)
	}
	if got := waiting(s); got != "e a c" {
		t.Fatalf("queue %q, want %q", got, "e a c")
	}
	s.release("b")
	if got := waiting(s); got != "a c" {
		t.Fatalf("after b's release the queue is %q, want %q: the freed slot goes to the resuming script", got, "a c")
	}
	granted(t, eResumes)
	s.release("e")
	if got := waiting(s); got != "a" {
		t.Fatalf("after e's release the queue is %q, want %q: a is at its share, c is next", got, "a")
	}
	granted(t, cWaits)
	*now = now.Add(sharingWindow) // the others' runs are past the window: a is alone
	s.release("c")
	if got := waiting(s); got != "" {
		t.Fatalf("after c's release the queue is %q, want it empty", got)
	}
	granted(t, aWaits)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.free != 0 || s.held["a"] != 2 {
		t.Fatalf("free %d, a holds %d; want 0 and 2", s.free, s.held["a"])
	}
}

// TestFairShareIsTheTenantElseTheProvider: slots are shared by tenant, or by provider in a
// config without tenants.
func TestFairShareIsTheTenantElseTheProvider(t *testing.T) {
	if got := fairShare(&signer.Exchange{Tenant: "t", Provider: "p"}); got != "tenant t" {
		t.Errorf("with a tenant: %q", got)
	}
	if got := fairShare(&signer.Exchange{Provider: "p"}); got != "provider p" {
		t.Errorf("without a tenant: %q", got)
	}
}

// TestSlotAcquireThatGivesUpHoldsNothing: an invocation whose context ends while it waits holds
// no slot (and releases none).
func TestSlotAcquireThatGivesUpHoldsNothing(t *testing.T) {
	saved := cpuSlots
	t.Cleanup(func() { cpuSlots = saved })
	cpuSlots, _ = testScheduler(1)
	if !tryAcquire(cpuSlots, "other") {
		t.Fatal("no slot")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	sl := slot{tenant: "t"}
	if err := sl.acquire(ctx); err == nil || sl.held {
		t.Fatalf("acquire: %v, held %v; want the context's end and no slot", err, sl.held)
	}
	sl.release()
	if cpuSlots.free != 0 || cpuSlots.held["other"] != 1 {
		t.Fatalf("free %d, other holds %d: the slot that was never held was released", cpuSlots.free, cpuSlots.held["other"])
	}
}

// TestResumingScriptsQueueInArrivalOrder: scripts resuming after a host call queue before the
// scripts that have not started, and in arrival order among themselves.
func TestResumingScriptsQueueInArrivalOrder(t *testing.T) {
	s, _ := testScheduler(1)
	if !tryAcquire(s, "x") {
		t.Fatal("no slot")
	}
	ctx, cancel := context.WithCancel(context.Background())
	var all []chan error
	for _, w := range []struct {
		tenant   string
		resuming bool
		queue    string
	}{
		{"r1", true, "r1"},
		{"r2", true, "r1 r2"},
		{"n", false, "r1 r2 n"},
		{"r3", true, "r1 r2 r3 n"},
	} {
		all = append(all, queue(t, s, ctx, w.tenant, w.resuming))
		if got := waiting(s); got != w.queue {
			t.Fatalf("after %s the queue is %q, want %q", w.tenant, got, w.queue)
		}
	}
	cancel()
	for _, done := range all {
		<-done
	}
}
