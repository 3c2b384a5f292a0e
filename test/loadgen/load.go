package main

import (
	"context"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"

	"github.com/keygate/keygate/internal/procstat"
)

// phase is one timed run against one server.
type phase struct {
	client      extprocv3.ExternalProcessorClient
	ex          *exchange
	modes       modes
	concurrency int
	duration    time.Duration
	rate        float64 // requests per second; 0 = as fast as the workers go
	ids         *atomic.Uint64
}

// measured is what one or more runs produced; finish computes the figures.
type measured struct {
	requests, errors int64
	unavailable      int64 // errors that are 503 answers (the memory budget's refusals)
	firstErr         error
	firstOther       error // the first error that is not a 503
	lat              []time.Duration
	elapsed          time.Duration
	mallocs          uint64
	cpu              time.Duration // the whole process's CPU time (driver, gRPC, servers)
	peakRSSMiB       float64

	rps, allocsPerReq, cpuUsPerReq float64
	p50, p99                       time.Duration
}

// add merges another run of the same load.
func (m *measured) add(o measured) {
	m.requests, m.errors, m.unavailable = m.requests+o.requests, m.errors+o.errors, m.unavailable+o.unavailable
	if m.firstErr == nil {
		m.firstErr = o.firstErr
	}
	if m.firstOther == nil {
		m.firstOther = o.firstOther
	}
	m.lat = append(m.lat, o.lat...)
	m.elapsed += o.elapsed
	m.mallocs += o.mallocs
	m.cpu += o.cpu
	m.peakRSSMiB = max(m.peakRSSMiB, o.peakRSSMiB)
}

func (m *measured) finish() {
	if total := m.requests + m.errors; total > 0 {
		m.allocsPerReq = float64(m.mallocs) / float64(total)
		m.cpuUsPerReq = float64(m.cpu.Microseconds()) / float64(total)
	}
	if m.elapsed > 0 {
		m.rps = float64(m.requests) / m.elapsed.Seconds()
	}
	slices.Sort(m.lat)
	m.p50, m.p99 = percentile(m.lat, 0.50), percentile(m.lat, 0.99)
}

func (p phase) run(ctx context.Context) measured {
	runtime.GC()
	procstat.ResetPeakRSS()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	cpu0 := procstat.CPUTime()
	ctx, cancel := context.WithTimeout(ctx, p.duration)
	defer cancel()
	var tickets <-chan struct{}
	if p.rate > 0 {
		tickets = pace(ctx, p.rate)
	}
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		all     []time.Duration
		errs    atomic.Int64
		refused atomic.Int64
		// The first error and the first that is not a 503; errors of any type (atomic.Value
		// takes one concrete type only, so they are boxed).
		firstErr atomic.Pointer[error]
		other    atomic.Pointer[error]
	)
	start := time.Now()
	for range p.concurrency {
		wg.Go(func() {
			own := make([]time.Duration, 0, 4096)
			for ctx.Err() == nil {
				if tickets != nil {
					select {
					case <-tickets:
					case <-ctx.Done():
						continue
					}
				}
				d, err := oneRequest(context.Background(), p.client, p.ex, p.modes, p.ids.Add(1), nil)
				if err != nil {
					errs.Add(1)
					if unavailable(err) {
						refused.Add(1)
					} else {
						other.CompareAndSwap(nil, &err)
					}
					firstErr.CompareAndSwap(nil, &err)
					continue
				}
				own = append(own, d)
			}
			mu.Lock()
			all = append(all, own...)
			mu.Unlock()
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	cpu := procstat.CPUTime() - cpu0
	runtime.ReadMemStats(&after)
	m := measured{requests: int64(len(all)), errors: errs.Load(), unavailable: refused.Load(), peakRSSMiB: procstat.PeakRSSMiB(), cpu: cpu,
		lat: all, elapsed: elapsed, mallocs: after.Mallocs - before.Mallocs}
	if e := firstErr.Load(); e != nil {
		m.firstErr = *e
	}
	if e := other.Load(); e != nil {
		m.firstOther = *e
	}
	return m
}

// pace hands out rate tickets per second, evenly, until ctx ends. Tickets not taken in time
// are dropped rather than bunched (the offered rate is an upper bound).
func pace(ctx context.Context, rate float64) <-chan struct{} {
	ch := make(chan struct{}, 64)
	interval := time.Duration(float64(time.Second) / rate)
	go func() {
		start, sent := time.Now(), int64(0)
		t := time.NewTicker(max(interval, 200*time.Microsecond))
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case now := <-t.C:
				due := int64(now.Sub(start) / interval)
				for ; sent < due; sent++ {
					select {
					case ch <- struct{}{}:
					default: // no worker free: the request is not offered
					}
				}
			}
		}
	}()
	return ch
}

func percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(int(float64(len(sorted))*q), len(sorted)-1)]
}
