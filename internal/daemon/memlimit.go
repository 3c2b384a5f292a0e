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
	// GCPercentUnderLimit is GOGC while the limit follows (unless the operator set GOGC): the
	// limit, not the percentage, then decides when to collect, and the percentage is only a
	// ceiling. At GOGC=100 a small live heap was collected every few MiB of allocation, and every
	// collection marks all of it, pooled script runtimes included (goja objects, thousands per
	// runtime): half the CPU of a script request (BenchmarkPipelineScript: 267 µs at 100, 128 µs
	// at 400).
	GCPercentUnderLimit = 400
)

// memoryLimitFor is the limit for held bytes of body reservations (three times each body, at
// most limits.ext_proc_memory_bytes) and live bytes of heap at the last collection. A
// reservation counts a body at its worst moment (received, worked on, answered); at any
// instant most streams wait on the network holding their body about once (being received, or
// the answer being sent), so half the reservations is what the bodies need. The live term
// (plus a quarter) is the floor: a heap that holds more than that, a large config, script
// runtimes, or bodies the reservations under-count, is never asked to collect without pause.
// other is the runtime's memory outside the heap (goroutine stacks, GC metadata, buffers): Go's
// limit counts it too, and a limit that left it out sat below what the process already used
// when many streams were open (20,000 idle streams are 160 MiB of stacks), so the collector ran
// without pause and every request slowed (the fault suite's script compiles timed out).
//
// The part of the live heap that is not bodies (the config, script runtimes, caches: live less
// what is reserved) may double before a collection, as at Go's default GOGC. Each collection
// marks all that is live, so collecting a large config's heap every quarter of its size cost
// four times the marking of the default: with 300 script providers (about 190 MiB of pooled
// runtimes) a script request took twice the CPU under the limit as without it.
func memoryLimitFor(held, live, other int64) int64 {
	return other + max(held/2, live+live/4, 2*live-held) + MemoryLimitMargin
}

// runtimeMemory is the live heap at the last collection and the memory the runtime holds
// outside the heap (what Go's memory limit counts beyond the heap).
func runtimeMemory(s []metrics.Sample) (live, other int64) {
	metrics.Read(s)
	v := make([]int64, len(s))
	for i := range s {
		if s[i].Value.Kind() == metrics.KindUint64 {
			v[i] = int64(s[i].Value.Uint64())
		}
	}
	// total - released - (objects + unused + free): stacks, metadata, profiling, other.
	return v[0], max(v[1]-v[2]-v[3]-v[4]-v[5], 0)
}

var runtimeMemoryMetrics = []string{
	"/gc/heap/live:bytes", "/memory/classes/total:bytes", "/memory/classes/heap/released:bytes",
	"/memory/classes/heap/objects:bytes", "/memory/classes/heap/unused:bytes", "/memory/classes/heap/free:bytes",
}

// FollowMemoryLimit keeps Go's soft memory limit at memoryLimitFor(held(), live heap) until ctx
// ends, then restores the previous one; meanwhile GOGC is GCPercentUnderLimit unless the
// operator set GOGC. An operator's GOMEMLIMIT wins ("off" included): then it does nothing and
// returns false.
func FollowMemoryLimit(ctx context.Context, held func() int64) bool {
	if _, set := os.LookupEnv("GOMEMLIMIT"); set {
		return false
	}
	sample := make([]metrics.Sample, len(runtimeMemoryMetrics))
	for i, name := range runtimeMemoryMetrics {
		sample[i].Name = name
	}
	apply := func() int64 {
		live, other := runtimeMemory(sample)
		return memoryLimitFor(held(), live, other)
	}
	prev := debug.SetMemoryLimit(apply())
	prevGC := -2 // unchanged
	if _, set := os.LookupEnv("GOGC"); !set {
		prevGC = debug.SetGCPercent(GCPercentUnderLimit)
	}
	go func() {
		t := time.NewTicker(memoryLimitEvery)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				if prevGC != -2 {
					debug.SetGCPercent(prevGC)
				}
				debug.SetMemoryLimit(prev)
				return
			case <-t.C:
				debug.SetMemoryLimit(apply())
			}
		}
	}()
	return true
}
