package daemon

import (
	"context"
	"os"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// Go's soft memory limit follows what keygate holds (FollowMemoryLimit). Without it the
// collector lets the heap grow to twice what is live: with large bodies in flight that is a
// body's worth of garbage per body, and more. test/loadgen's memory scenario (256 bodies of
// 1 MiB at once, keygate in its own process) measured 5x the bodies in flight under the
// default budget with a fixed limit of the budget plus a margin, and 2.5-2.9x with this one.
const (
	// MemoryLimitMargin is the room above what is held: keygate's own churn between two
	// collections (headers, gRPC frames, small bodies).
	MemoryLimitMargin = 64 << 20
	// memoryLimitEvery is how often the limit is recomputed: bodies arrive over many
	// milliseconds, so a burst of streams moves the limit before their bytes do.
	memoryLimitEvery = 20 * time.Millisecond
)

// memoryLimitFor is the limit for held bytes of body reservations (three times each body, at
// most limits.ext_proc_memory_bytes) and live bytes of heap at the last collection. A
// reservation counts a body at its worst moment (received, worked on, answered); at any
// instant most streams wait on the network holding their body about once (being received, or
// the answer being sent), so half the reservations is what the bodies need. The live term
// (plus a quarter) is the floor: a heap that holds more than that, a large config, script
// runtimes, or bodies the reservations under-count, is never asked to collect without pause.
func memoryLimitFor(held, live int64) int64 {
	return max(held/2, live+live/4) + MemoryLimitMargin
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
