package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	filterv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"

	"github.com/keygate/keygate/internal/routing"
)

// TestMain lets the test binary serve as the memory scenario's keygate child, as the loadgen
// binary does.
func TestMain(m *testing.M) {
	if isChild, err := childMode(); isChild {
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestRunShort runs every scenario briefly against both servers and checks the table and the
// BENCH_OUT schema. It asserts no figure: CI does not time anything.
func TestRunShort(t *testing.T) {
	out := filepath.Join(t.TempDir(), "bench.json")
	var buf bytes.Buffer
	o := options{bodySize: 4096, concurrency: 2, duration: 150 * time.Millisecond, halfDuration: 50 * time.Millisecond,
		rounds: 1, pipelineN: 20, out: out, memConcurrency: 4, memBodySize: 64 << 10, memBudget: 64 << 10}
	if err := run(context.Background(), o, &buf); err != nil {
		t.Fatalf("run: %v\n%s", err, buf.String())
	}
	for _, sc := range scenarios(o.bodySize) {
		if !strings.Contains(buf.String(), sc.name) {
			t.Errorf("table lacks scenario %s", sc.name)
		}
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var rows []map[string]any
	if err := json.Unmarshal(data, &rows); err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(scenarios(o.bodySize))+2 {
		t.Fatalf("BENCH_OUT has %d rows, want %d", len(rows), len(scenarios(o.bodySize))+2)
	}
	// The memory rows: under the default budget nothing is refused; under one smaller than a
	// single body's reservation every request is.
	for _, row := range rows[len(rows)-2:] {
		refused, _ := row["refused"].(float64)
		switch row["scenario"] {
		case "memory-default-budget":
			if refused != 0 || row["peak_rss_mib"].(float64) <= 0 || row["rss_per_in_flight"].(float64) <= 0 || row["driver_peak_rss_mib"].(float64) <= 0 {
				t.Errorf("memory under the default budget: %v", row)
			}
		case "memory-tight-budget":
			if refused == 0 {
				t.Errorf("memory under a budget below one body: nothing refused: %v", row)
			}
		default:
			t.Errorf("unexpected row %v", row["scenario"])
		}
	}
	for _, row := range rows[:len(rows)-2] {
		for _, field := range []string{"scenario", "rps", "baseline_rps", "ratio", "p50_us", "p99_us", "allocs_per_req", "peak_rss_mib",
			"limit_rps", "limit_ratio", "messages_per_req", "cpu_us_per_req", "own_cpu_us_per_req", "half_rate_baseline_p99_us"} {
			if _, ok := row[field]; !ok {
				t.Errorf("row %v lacks %q", row["scenario"], field)
			}
		}
		if row["limit_rps"].(float64) <= 0 || row["cpu_us_per_req"].(float64) <= 0 {
			t.Errorf("row %v: no protocol-limit throughput or no CPU time measured", row["scenario"])
		}
		// keygate's mode_override decides the messages, and the baselines get the same ones:
		// a header-only provider is one message, the others send every body they sign or read.
		wantMsgs := map[string]float64{"static-header": 1, "aws-sigv4": 2, "alipay-rsa2": 2}[row["scenario"].(string)]
		if wantMsgs == 0 {
			wantMsgs = 4
		}
		if row["messages_per_req"].(float64) != wantMsgs {
			t.Errorf("row %v: %v messages per request, want %v", row["scenario"], row["messages_per_req"], wantMsgs)
		}
		if row["rps"].(float64) <= 0 || row["keystore_gets_during_load"].(float64) != 0 || row["token_fetches_during_load"].(float64) != 0 {
			t.Errorf("row %v: no throughput, or keystore/token calls in steady state", row["scenario"])
		}
	}
}

// TestOverrideLiteral: body modes in a mode_override are literal (unset = NONE), as in Envoy.
func TestOverrideLiteral(t *testing.T) {
	tests := []struct {
		name string
		o    *filterv3.ProcessingMode
		want modes
	}{
		{"none", nil, fullModes},
		{"request body only", &filterv3.ProcessingMode{RequestBodyMode: filterv3.ProcessingMode_BUFFERED},
			modes{requestBody: true, responseHeaders: true}},
		{"headers only", &filterv3.ProcessingMode{ResponseHeaderMode: filterv3.ProcessingMode_SEND}, modes{responseHeaders: true}},
		{"skip response headers", &filterv3.ProcessingMode{ResponseHeaderMode: filterv3.ProcessingMode_SKIP,
			ResponseBodyMode: filterv3.ProcessingMode_BUFFERED}, modes{responseBody: true}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := fullModes.override(tc.o); got != tc.want {
				t.Errorf("override = %+v, want %+v", got, tc.want)
			}
		})
	}
}

// TestChild: a keygate child serves on the address it prints, its peak RSS is readable, a
// budget below one body's reservation refuses the request with 503, and it exits when told.
func TestChild(t *testing.T) {
	ctx := context.Background()
	ex := &exchange{authority: "simple.bench.local", path: "/orders/create", contentType: "application/json",
		reqBody: jsonBody(64 << 10), respBody: encryptedAnswer(64 << 10), spiffeID: benchSPIFFEID, route: routing.RouteName("simple-aes")}
	var ids atomic.Uint64
	for _, tc := range []struct {
		budget  int64
		refused bool
	}{{1 << 30, false}, {64 << 10, true}} {
		c, err := startChild(ctx, tc.budget, "")
		if err != nil {
			t.Fatal(err)
		}
		_, err = oneRequest(ctx, c.client, ex, fullModes, ids.Add(1), nil)
		if tc.refused != unavailable(err) || !tc.refused && err != nil {
			t.Errorf("budget %d: request error %v, want refused (503) %v", tc.budget, err, tc.refused)
		}
		if c.peakRSSMiB() <= 0 {
			t.Errorf("budget %d: no peak RSS read for the child", tc.budget)
		}
		if err := c.close(); err != nil {
			t.Errorf("budget %d: child did not exit cleanly: %v", tc.budget, err)
		}
	}
}

// TestSelectScenarios: "memory" selects the memory scenario alone; no filter runs everything.
func TestSelectScenarios(t *testing.T) {
	all := scenarios(4096)
	scs, memory, err := selectScenarios(all, "memory")
	if err != nil || len(scs) != 0 || !memory {
		t.Errorf("memory: %d scenarios, memory %v, err %v", len(scs), memory, err)
	}
	scs, memory, err = selectScenarios(all, "simple-aes")
	if err != nil || len(scs) != 1 || memory {
		t.Errorf("simple-aes: %d scenarios, memory %v, err %v", len(scs), memory, err)
	}
	if scs, memory, _ = selectScenarios(all, ""); len(scs) != len(all) || !memory {
		t.Errorf("no filter: %d scenarios, memory %v", len(scs), memory)
	}
	if _, _, err := selectScenarios(all, "nope"); err == nil {
		t.Error("an unknown scenario was accepted")
	}
}
