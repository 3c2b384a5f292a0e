package daemon

import (
	"context"
	"os"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// Go's soft memory limit follows what keygate holds (FollowMemoryLimit). Without it the
// collector lets the heap grow to twice what is live: with large bodies in flight that is
// twice the budget's worth of garbage, and the memory scenario of test/loadgen measured keygate
// at 5x the request bodies in flight under the default budget (2x with the limit that follows).
const (
	// MemoryLimitMargin is the room above what is held: keygate's own churn between two
	// collections (headers, gRPC frames, small bodies).
	MemoryLimitMargin = 64 << 20
	// memoryLimitEvery is how often the limit is recomputed: bodies arrive over many
	// milliseconds, so a burst of streams moves the limit before their bytes do.
	memoryLimitEvery = 20 * time.Millisecond
)

// memoryLimitFor is the limit for held bytes of body reservations (three times each body, at
// most limits.ext_proc_memory_bytes) and live bytes of heap at the last collection: the larger
// of the two plus the margin. The live term (plus a quarter) keeps a heap that holds more than
// bodies, a large config or script runtimes, from collecting without pause; it never sets the
// limit below what is live.
func memoryLimitFor(held, live int64) int64 {
	return max(held, live+live/4) + MemoryLimitMargin
}

// FollowMemoryLimit keeps Go's soft memory limit at memoryLimitFor(held(), live heap) until ctx
// ends, then restores the previous one. An operator's GOMEMLIMIT wins ("off" included): then it
// does nothing and returns false.
func FollowMemoryLimit(ctx context.Context, held func() int64) bool {
	if _, set := os.LookupEnv("GOMEMLIMIT"); set {
		return false
	}
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	apply := func() int64 {
		metrics.Read(sample)
		live := int64(0)
		if sample[0].Value.Kind() == metrics.KindUint64 {
			live = int64(sample[0].Value.Uint64())
		}
		return memoryLimitFor(held(), live)
	}
	prev := debug.SetMemoryLimit(apply())
	go func() {
		t := time.NewTicker(memoryLimitEvery)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				debug.SetMemoryLimit(prev)
				return
			case <-t.C:
				debug.SetMemoryLimit(apply())
			}
		}
	}()
	return true
}
