package daemon

import (
	"context"
	"os"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestMemoryLimitFor: the limit is the runtime's memory outside the heap, plus half what the
// streams reserved, never below the live heap (plus a quarter) nor below twice the live heap
// that is not bodies (live less reserved), plus the margin.
func TestMemoryLimitFor(t *testing.T) {
	for _, tc := range []struct{ held, live, other, want int64 }{
		{0, 0, 0, MemoryLimitMargin},
		{1024 << 20, 300 << 20, 0, 512<<20 + MemoryLimitMargin},
		{768 << 20, 400 << 20, 0, 500<<20 + MemoryLimitMargin},
		{0, 100 << 20, 160 << 20, 160<<20 + 200<<20 + MemoryLimitMargin}, // 20,000 stacks
		{0, 190 << 20, 0, 380<<20 + MemoryLimitMargin},                   // 300 script providers' runtimes: the default doubling
		{100 << 20, 300 << 20, 0, 500<<20 + MemoryLimitMargin},           // 200 MiB of it not bodies: that part may double
		{600 << 20, 500 << 20, 0, 625<<20 + MemoryLimitMargin},           // mostly bodies: a quarter
	} {
		if got := memoryLimitFor(tc.held, tc.live, tc.other); got != tc.want {
			t.Errorf("memoryLimitFor(%d, %d, %d) = %d, want %d", tc.held, tc.live, tc.other, got, tc.want)
		}
	}
}

// TestLimitIsAboveWhatTheRuntimeHolds: with many goroutines (their stacks outside the heap)
// and nothing reserved, the limit stays above the memory the runtime already holds, so the
// collector is not asked to run without pause.
func TestLimitIsAboveWhatTheRuntimeHolds(t *testing.T) {
	stop := make(chan struct{})
	var started sync.WaitGroup
	for range 10000 { // 16 KiB stacks each: 160 MiB outside the heap
		started.Add(1)
		go deepWait(16, &started, stop)
	}
	started.Wait()
	defer close(stop)
	s := make([]metrics.Sample, len(runtimeMemoryMetrics))
	for i, name := range runtimeMemoryMetrics {
		s[i].Name = name
	}
	live, other := runtimeMemory(s)
	total := []metrics.Sample{{Name: "/memory/classes/total:bytes"}, {Name: "/memory/classes/heap/released:bytes"}}
	metrics.Read(total)
	used := int64(total[0].Value.Uint64() - total[1].Value.Uint64())
	if limit := memoryLimitFor(0, live, other); limit <= used {
		t.Fatalf("limit %d MiB is not above the %d MiB the runtime holds (stacks and all)", limit>>20, used>>20)
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
	if v, ok := os.LookupEnv("GOGC"); ok {
		t.Cleanup(func() { os.Setenv("GOGC", v) })
	}
	os.Unsetenv("GOGC")
	prevGC := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetGCPercent(prevGC) })
	var held atomic.Int64
	held.Store(8 << 30) // far above any live heap of a test binary
	ctx, cancel := context.WithCancel(context.Background())
	if !FollowMemoryLimit(ctx, held.Load) {
		t.Fatal("FollowMemoryLimit did nothing without GOMEMLIMIT")
	}
	if got := debug.SetGCPercent(GCPercentUnderLimit); got != GCPercentUnderLimit {
		t.Fatalf("GOGC %d while the limit follows, want %d", got, GCPercentUnderLimit)
	}
	if got := debug.SetMemoryLimit(-1); got < 4<<30+MemoryLimitMargin || got > 4<<30+MemoryLimitMargin+256<<20 {
		t.Fatalf("limit %d, want half the reservations plus the margin (and the runtime's own memory)", got)
	}
	held.Store(9 << 30)
	waitLimitAbout(t, 9<<30/2+MemoryLimitMargin)
	cancel()
	waitLimit(t, prev)
	if got := debug.SetGCPercent(100); got != 100 {
		t.Fatalf("GOGC %d after the limit stopped following, want the previous 100", got)
	}

	// The operator's GOGC wins over keygate's.
	t.Setenv("GOGC", "150")
	debug.SetGCPercent(150)
	ctx, cancel = context.WithCancel(context.Background())
	if !FollowMemoryLimit(ctx, held.Load) {
		t.Fatal("FollowMemoryLimit did nothing with GOGC set")
	}
	if got := debug.SetGCPercent(150); got != 150 {
		t.Fatalf("GOGC %d with the operator's GOGC=150", got)
	}
	cancel()
	waitLimit(t, prev)
	debug.SetGCPercent(100)
	os.Unsetenv("GOGC")

	t.Setenv("GOMEMLIMIT", "off")
	if FollowMemoryLimit(context.Background(), held.Load) || debug.SetMemoryLimit(-1) != prev {
		t.Fatal("with GOMEMLIMIT set the limit was changed")
	}
}

// waitLimitAbout waits for the limit to be want plus at most 256 MiB of the runtime's own.
func waitLimitAbout(t *testing.T, want int64) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for got := debug.SetMemoryLimit(-1); got < want || got > want+256<<20; got = debug.SetMemoryLimit(-1) {
		if time.Now().After(deadline) {
			t.Fatalf("limit %d, want %d plus the runtime's own", got, want)
		}
		time.Sleep(5 * time.Millisecond)
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

// deepWait grows its goroutine's stack by n frames of about 600 bytes, then waits for stop.
func deepWait(n int, started *sync.WaitGroup, stop chan struct{}) byte {
	var b [512]byte
	b[n%len(b)] = byte(n)
	if n == 0 {
		started.Done()
		<-stop
		return b[0]
	}
	return deepWait(n-1, started, stop) + b[n%len(b)]
}
