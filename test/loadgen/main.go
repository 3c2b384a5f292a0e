// Command loadgen is keygate's load driver (`make bench`). It plays Envoy's ext_proc filter:
// one gRPC stream per request, messages in Envoy's order and encoding (request_headers,
// request_body, response_headers, response_body; lower-case keys, raw_value only), each waiting
// for its answer (BUFFERED), honouring mode_override literally. In one process it starts
// keygate's ext_proc server with testdata/keygate.yaml (file keystore behind the production
// cache, loopback token endpoints) and a no-op ext_proc server, runs the same load against
// both per scenario, and prints throughput, the ratio to the no-op baseline, server time
// percentiles, allocations and peak RSS. The memory scenario measures keygate alone: its
// ext_proc server runs in a child process, this binary re-executed (child.go), and the child's
// peak RSS is reported. BENCH_OUT=FILE also writes the figures as JSON.
//
// Everything is on loopback and bounded: each phase lasts -duration, and the whole run is
// cancelled after a deadline derived from it.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strings"
	"sync/atomic"
	"time"

	"github.com/keygate/keygate/internal/daemon"
	"github.com/keygate/keygate/internal/routing"
)

// bombSenders is how many requests to the looping bomb provider are in flight at once.
const bombSenders = 1

type options struct {
	bodySize     int
	concurrency  int
	duration     time.Duration
	halfDuration time.Duration
	filter       string
	out          string
	pipelineN    int
	rounds       int
	cpuProfile   string
	memProfile   string
	// The memory scenario: memConcurrency requests of memBodySize bytes at once, first under
	// keygate's default budget, then under memBudget (0: skip the scenario).
	memConcurrency int
	memBodySize    int
	memBudget      int64
}

func main() {
	if isChild, err := childMode(); isChild {
		if err != nil {
			fmt.Fprintln(os.Stderr, "loadgen keygate child:", err)
			os.Exit(1)
		}
		return
	}
	var o options
	flag.IntVar(&o.bodySize, "body-size", 4096, "request body size in bytes (JSON)")
	flag.IntVar(&o.concurrency, "concurrency", 4*runtime.GOMAXPROCS(0), "requests in flight (streams open at once)")
	flag.DurationVar(&o.duration, "duration", 5*time.Second, "length of each saturating phase (keygate and baseline, per scenario)")
	flag.DurationVar(&o.halfDuration, "half-duration", 3*time.Second, "length of each half-rate phase")
	flag.StringVar(&o.filter, "scenarios", "", "comma-separated scenario names, "+memoryScenario+" for the memory scenario (default all)")
	flag.IntVar(&o.pipelineN, "pipeline-requests", 2000, "requests of the in-process pipeline allocation measurement")
	flag.IntVar(&o.rounds, "rounds", 5, "each saturating phase alternates keygate and baseline in this many slices, so background load hits both alike")
	flag.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of the measured phases to this file")
	flag.StringVar(&o.memProfile, "memprofile", "", "write an allocation profile at the end of the run to this file")
	flag.IntVar(&o.memConcurrency, "memory-concurrency", 256, "requests in flight in the memory scenario")
	flag.IntVar(&o.memBodySize, "memory-body-size", 1<<20, "request body size of the memory scenario")
	flag.Int64Var(&o.memBudget, "memory-budget", 256<<20, "the tight memory budget (limits.ext_proc_memory_bytes) of the memory scenario's second pass; 0 skips the scenario")
	flag.Parse()
	o.out = os.Getenv("BENCH_OUT")
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, o, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, o options, w io.Writer) error {
	if o.concurrency < 1 || o.duration <= 0 || o.bodySize < 64 || o.rounds < 1 {
		return fmt.Errorf("want -concurrency >= 1, -duration > 0, -body-size >= 64, -rounds >= 1")
	}
	scs, memory, err := selectScenarios(scenarios(o.bodySize), o.filter)
	if err != nil {
		return err
	}
	memory = memory && o.memBudget > 0
	// A hard bound on the whole run: every phase plus generous slack.
	perScenario := 3*o.duration + 2*o.halfDuration + 5*time.Second
	limit := time.Duration(len(scs)+1)*perScenario + 30*time.Second
	if memory {
		// Each budget's pass: a child to start, and 256 large requests that may take their
		// time to finish on a loaded machine after the phase stops starting new ones.
		limit += 2 * (max(o.halfDuration, time.Second) + 90*time.Second)
	}
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	st, err := startStack(ctx, true)
	if err != nil {
		return fmt.Errorf("start: %w", err)
	}
	defer st.close()
	// As keygate serve runs: Go's memory limit following the reservations, and its GOGC. The
	// baselines share the process, so they run under the same collector settings.
	following := daemon.FollowMemoryLimit(ctx, st.kgSrv.InFlightBytes)
	if o.cpuProfile != "" {
		f, err := os.Create(o.cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	gc := debug.SetGCPercent(-1)
	debug.SetGCPercent(gc)
	fmt.Fprintf(w, "keygate load driver: %d scenarios, concurrency %d, %s per phase, %d-byte bodies, GOMAXPROCS %d, %s, GOGC %d, memory limit following keygate's reservations: %v\n\n",
		len(scs), o.concurrency, o.duration, o.bodySize, runtime.GOMAXPROCS(0), runtime.Version(), gc, following)
	var ids atomic.Uint64
	var rs []result
	for _, sc := range scs {
		r, err := runScenario(ctx, st, sc, o, &ids)
		if err != nil {
			return fmt.Errorf("%s: %w", sc.name, err)
		}
		rs = append(rs, r)
	}
	if memory {
		mem, err := runMemory(ctx, o, &ids, w)
		if err != nil {
			return fmt.Errorf("memory: %w", err)
		}
		rs = append(rs, mem...)
	}
	printTable(w, rs)
	if o.memProfile != "" {
		if err := writeHeapProfile(o.memProfile); err != nil {
			return err
		}
	}
	var fetches, gets int64
	for _, r := range rs {
		fetches, gets = fetches+r.TokenFetches, gets+r.KeystoreGets
	}
	fmt.Fprintf(w, "\nsteady state: %d token fetches and %d keystore backend Get calls during the measured load.\n", fetches, gets)
	fmt.Fprintf(w, "whole run, warm-up included: token fetches %d (script provider's source) + %d (two-step's oauth2 source); keystore backend Gets %d (one per secret, then cached)\n",
		st.demo.Stats.TokensIssued.Load(), st.oauth.Load(), st.store.gets.Load())
	fmt.Fprintln(w, "allocs/req is the whole process (driver, gRPC client and server); pipeline allocs/req is keygate's Begin+SignRequest+ProcessResponse alone.")
	if o.out != "" {
		if err := writeJSON(o.out, rs); err != nil {
			return fmt.Errorf("BENCH_OUT: %w", err)
		}
		fmt.Fprintf(w, "wrote %s\n", o.out)
	}
	return ctx.Err()
}

// memoryScenario selects the memory scenario in -scenarios.
const memoryScenario = "memory"

// selectScenarios is the scenarios filter names (all without one) and whether the memory
// scenario runs.
func selectScenarios(all []scenario, filter string) (_ []scenario, memory bool, _ error) {
	if filter == "" {
		return all, true, nil
	}
	var out []scenario
	for name := range strings.SplitSeq(filter, ",") {
		name = strings.TrimSpace(name)
		found := name == memoryScenario
		memory = memory || found
		for _, sc := range all {
			if sc.name == name {
				out, found = append(out, sc), true
			}
		}
		if !found {
			return nil, false, fmt.Errorf("unknown scenario %q", name)
		}
	}
	return out, memory, nil
}

func runScenario(ctx context.Context, st *stack, sc scenario, o options, ids *atomic.Uint64) (result, error) {
	// Warm-up: one request alone (the token is fetched once, keys enter the cache), recorded:
	// the messages keygate's mode_override left are what both baselines get, and keygate's
	// answers are what the protocol-limit server sends. Then a short burst so runtimes are
	// pooled and connections are warm.
	var rec recording
	if _, err := oneRequest(ctx, st.keygate, sc.ex, fullModes, ids.Add(1), &rec); err != nil {
		return result{}, fmt.Errorf("warm-up: %w", err)
	}
	st.limitSrv.learn(sc.ex.route, &rec)
	warm := phase{client: st.keygate, ex: sc.ex, modes: fullModes, concurrency: o.concurrency, duration: min(o.duration/5, 500*time.Millisecond), ids: ids}
	_ = warm.run(ctx)
	var base, limit, kg measured
	fetches, gets := st.tokenFetches(), st.store.gets.Load()
	slice := o.duration / time.Duration(o.rounds)
	for range o.rounds {
		base.add(phase{client: st.noop, ex: sc.ex, modes: rec.sent, concurrency: o.concurrency, duration: slice, ids: ids}.run(ctx))
		limit.add(phase{client: st.limit, ex: sc.ex, modes: rec.sent, concurrency: o.concurrency, duration: slice, ids: ids}.run(ctx))
		kg.add(phase{client: st.keygate, ex: sc.ex, modes: fullModes, concurrency: o.concurrency, duration: slice, ids: ids}.run(ctx))
	}
	base.finish()
	limit.finish()
	kg.finish()
	r := result{
		Scenario: sc.name, RPS: round(kg.rps, 1), BaselineRPS: round(base.rps, 1), P50us: us(kg.p50), P99us: us(kg.p99),
		AllocsPerReq: round(kg.allocsPerReq, 1), PeakRSSMiB: round(kg.peakRSSMiB, 1), Target: sc.target,
		BaselineP50us: us(base.p50), BaselineP99us: us(base.p99), BaselineAllocsPerReq: round(base.allocsPerReq, 1),
		LimitRPS: round(limit.rps, 1), LimitP99us: us(limit.p99), LimitAllocsPerReq: round(limit.allocsPerReq, 1),
		Messages:    rec.sent.messages(),
		CPUusPerReq: round(kg.cpuUsPerReq, 1), BaselineCPUusPerReq: round(base.cpuUsPerReq, 1), LimitCPUusPerReq: round(limit.cpuUsPerReq, 1),
		OwnCPUusPerReq: round(kg.cpuUsPerReq-limit.cpuUsPerReq, 1),
		Errors:         kg.errors + base.errors + limit.errors, TokenFetches: st.tokenFetches() - fetches, KeystoreGets: st.store.gets.Load() - gets, Note: sc.note,
	}
	if base.rps > 0 {
		r.Ratio = round(kg.rps/base.rps, 3)
	}
	if limit.rps > 0 {
		r.LimitRatio = round(kg.rps/limit.rps, 3)
	}
	if sc.target > 0 {
		met := r.Ratio >= sc.target
		r.Met = &met
	}
	// A few failures under overload (a script over its time budget on a starved machine) are
	// reported in the errors column; many mean the setup is broken.
	if total := kg.requests + base.requests + limit.requests + r.Errors; r.Errors*100 > total {
		return r, fmt.Errorf("%d keygate, %d no-op and %d protocol-limit errors, first: %v %v %v",
			kg.errors, base.errors, limit.errors, kg.firstErr, base.firstErr, limit.firstErr)
	}
	half := phase{client: st.keygate, ex: sc.ex, modes: fullModes, concurrency: o.concurrency, duration: o.halfDuration, rate: kg.rps / 2, ids: ids}.run(ctx)
	half.finish()
	// The same offered load on the no-op server: on a shared machine the tail is mostly
	// scheduling delay, which both see alike.
	halfBase := phase{client: st.noop, ex: sc.ex, modes: rec.sent, concurrency: o.concurrency, duration: o.halfDuration, rate: kg.rps / 2, ids: ids}.run(ctx)
	halfBase.finish()
	r.HalfRateRPS, r.HalfRateP50us, r.HalfRateP99us = round(half.rps, 1), us(half.p50), us(half.p99)
	r.HalfRateBaselineP99us = us(halfBase.p99)
	r.HalfRateMet = half.errors == 0 && float64(half.p99) <= 1.2*float64(halfBase.p99)+float64(200*time.Microsecond)
	r.Errors += half.errors + halfBase.errors
	if sc.name == "script" {
		// The same half-rate load while another provider's scripts loop to their time limit:
		// fair slots keep one for this provider.
		bomb := phase{client: st.keygate, ex: &exchange{authority: "bomb.bench.local", path: "/x", contentType: "application/json",
			reqBody: []byte(`{}`), route: routing.RouteName("bomb"), spiffeID: benchSPIFFEID}, modes: fullModes, concurrency: bombSenders, duration: o.halfDuration, ids: ids}
		done := make(chan struct{})
		go func() { defer close(done); _ = bomb.run(ctx) }()
		near := phase{client: st.keygate, ex: sc.ex, modes: fullModes, concurrency: o.concurrency, duration: o.halfDuration, rate: kg.rps / 2, ids: ids}.run(ctx)
		<-done
		near.finish()
		r.NeighbourBombP99us = us(near.p99)
		r.Errors += near.errors
	}
	var err error
	if r.PipelineAllocsPerReq, err = pipelineAllocs(st.snap, sc.ex, o.pipelineN); err != nil {
		return r, err
	}
	r.PipelineAllocsPerReq = round(r.PipelineAllocsPerReq, 1)
	return r, ctx.Err()
}

func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return pprof.Lookup("allocs").WriteTo(f, 0)
}

// runMemory offers memConcurrency large simple-aes requests at once for a half-rate phase's
// length, under keygate's default memory budget and then under memBudget, each to a fresh
// keygate child, and reports the child's peak RSS against the request bodies in flight and the
// requests the budget refused (503).
func runMemory(ctx context.Context, o options, ids *atomic.Uint64, w io.Writer) ([]result, error) {
	ex := &exchange{authority: "simple.bench.local", path: "/orders/create", contentType: "application/json",
		reqBody: jsonBody(o.memBodySize), respBody: encryptedAnswer(o.memBodySize), spiffeID: benchSPIFFEID, route: routing.RouteName("simple-aes")}
	var rows []result
	for _, b := range []struct {
		name  string
		bytes int64
	}{{"memory-default-budget", daemon.DefaultExtProcMemoryBytes}, {"memory-tight-budget", o.memBudget}} {
		r, err := memoryPhase(ctx, o, ids, ex, b.name, b.bytes, w)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", b.name, err)
		}
		rows = append(rows, r)
	}
	return rows, ctx.Err()
}

// memoryPhase is one budget's pass, against its own keygate child.
func memoryPhase(ctx context.Context, o options, ids *atomic.Uint64, ex *exchange, name string, budget int64, w io.Writer) (result, error) {
	profile := ""
	if o.memProfile != "" {
		profile = o.memProfile + "." + name
	}
	c, err := startChild(ctx, budget, profile)
	if err != nil {
		return result{}, err
	}
	defer c.close()
	// Warm-up: keys enter the cache. A budget below one body refuses even this one.
	if _, err := oneRequest(ctx, c.client, ex, fullModes, ids.Add(1), nil); err != nil && !unavailable(err) {
		return result{}, fmt.Errorf("warm-up: %w", err)
	}
	m := phase{client: c.client, ex: ex, modes: fullModes, concurrency: o.memConcurrency, duration: max(o.halfDuration, time.Second), ids: ids}.run(ctx)
	m.finish()
	peak := c.peakRSSMiB()
	if err := c.close(); err != nil {
		return result{}, err
	}
	budgetMiB, inFlight := round(float64(budget)/(1<<20), 1), round(float64(o.memConcurrency*len(ex.reqBody))/(1<<20), 1)
	refused := m.unavailable
	r := result{Scenario: name, RPS: round(m.rps, 1), PeakRSSMiB: round(peak, 1), DriverPeakRSSMiB: round(m.peakRSSMiB, 1),
		Errors: m.errors - refused, Refused: &refused, MemoryBudgetMiB: &budgetMiB, InFlightMiB: &inFlight,
		Note: fmt.Sprintf("%d requests of %d bytes at once; peak RSS is keygate's own process", o.memConcurrency, len(ex.reqBody))}
	if inFlight > 0 {
		ratio := round(peak/inFlight, 2)
		met := ratio <= bodyCostTarget
		r.RSSPerInFlight, r.Met = &ratio, &met
	}
	if r.Errors > 0 {
		fmt.Fprintf(w, "%s: %d errors other than 503, first: %v\n", name, r.Errors, m.firstOther)
	}
	return r, nil
}

// bodyCostTarget is the memory rule: keygate's peak RSS within this multiple of the request
// bodies in flight (issue 18).
const bodyCostTarget = 3
