package daemon

import (
	"context"
	"os"
	"runtime/debug"
	"sync/atomic"
	"testing"
	"time"
)

// TestMemoryLimitFor: the limit is half what the streams reserved plus the margin, never below
// the live heap (plus a quarter) plus the margin.
func TestMemoryLimitFor(t *testing.T) {
	for _, tc := range []struct{ held, live, want int64 }{
		{0, 0, MemoryLimitMargin},
		{1024 << 20, 300 << 20, 512<<20 + MemoryLimitMargin},
		{768 << 20, 400 << 20, 500<<20 + MemoryLimitMargin},
	} {
		if got := memoryLimitFor(tc.held, tc.live); got != tc.want {
			t.Errorf("memoryLimitFor(%d, %d) = %d, want %d", tc.held, tc.live, got, tc.want)
		}
	}
}

// TestFollowMemoryLimit: without GOMEMLIMIT the limit follows the reservations and is
// restored when ctx ends; an operator's GOMEMLIMIT (even "off") is left alone.
func TestFollowMemoryLimit(t *testing.T) {
	prev := debug.SetMemoryLimit(-1)
	if v, ok := os.LookupEnv("GOMEMLIMIT"); ok {
		t.Cleanup(func() { os.Setenv("GOMEMLIMIT", v) })
	}
	os.Unsetenv("GOMEMLIMIT")
	var held atomic.Int64
	held.Store(8 << 30) // far above any live heap of a test binary
	ctx, cancel := context.WithCancel(context.Background())
	if !FollowMemoryLimit(ctx, held.Load) {
		t.Fatal("FollowMemoryLimit did nothing without GOMEMLIMIT")
	}
	if got := debug.SetMemoryLimit(-1); got != 4<<30+MemoryLimitMargin {
		t.Fatalf("limit %d, want half the reservations plus the margin", got)
	}
	held.Store(9 << 30)
	waitLimit(t, 9<<30/2+MemoryLimitMargin)
	cancel()
	waitLimit(t, prev)

	t.Setenv("GOMEMLIMIT", "off")
	if FollowMemoryLimit(context.Background(), held.Load) || debug.SetMemoryLimit(-1) != prev {
		t.Fatal("with GOMEMLIMIT set the limit was changed")
	}
}

func waitLimit(t *testing.T, want int64) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for debug.SetMemoryLimit(-1) != want {
		if time.Now().After(deadline) {
			t.Fatalf("limit %d, want %d", debug.SetMemoryLimit(-1), want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
