package script

import (
	"testing"
	"time"

	"github.com/dop251/goja"
)

// TestStaleTimerDoesNotFireTheNextBudget: a budget's timer that expired as stop ran calls
// fire after stop has returned; the next start's code must not be interrupted by it. fire is
// called here as that late timer would, right after a new start.
func TestStaleTimerDoesNotFireTheNextBudget(t *testing.T) {
	b := newBudget(goja.New())
	b.start(time.Millisecond)
	b.stop()
	b.start(time.Hour)
	b.fire(errTimedOut) // the first start's timer, late
	if err := b.stop(); err != nil {
		t.Fatalf("a late timer of the previous budget fired the next: %v", err)
	}
	b.start(time.Millisecond)
	deadline := time.Now().Add(10 * time.Second)
	for {
		b.lock()
		fired := b.fired
		b.unlock()
		if fired != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("a budget that ran out never fired")
		}
		time.Sleep(time.Millisecond)
	}
	if err := b.stop(); err != errTimedOut {
		t.Fatalf("a budget that ran out: %v, want the timeout", err)
	}
}
