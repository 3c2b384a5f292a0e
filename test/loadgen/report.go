package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"text/tabwriter"
	"time"
)

// result is one scenario's row; the first eight fields are the BENCH_OUT schema.
type result struct {
	Scenario     string  `json:"scenario"`
	RPS          float64 `json:"rps"`
	BaselineRPS  float64 `json:"baseline_rps"`
	Ratio        float64 `json:"ratio"`
	P50us        float64 `json:"p50_us"`
	P99us        float64 `json:"p99_us"`
	AllocsPerReq float64 `json:"allocs_per_req"`
	PeakRSSMiB   float64 `json:"peak_rss_mib"`

	Target               float64 `json:"target,omitempty"`
	Met                  *bool   `json:"met,omitempty"`
	BaselineP50us        float64 `json:"baseline_p50_us"`
	BaselineP99us        float64 `json:"baseline_p99_us"`
	BaselineAllocsPerReq float64 `json:"baseline_allocs_per_req"`
	// The protocol-limit baseline: keygate's recorded answers replayed without computing them.
	LimitRPS          float64 `json:"limit_rps"`
	LimitRatio        float64 `json:"limit_ratio"`
	LimitP99us        float64 `json:"limit_p99_us"`
	LimitAllocsPerReq float64 `json:"limit_allocs_per_req"`
	// Messages is how many ext_proc messages a request sends after keygate's mode_override;
	// both baselines get the same ones.
	Messages int `json:"messages_per_req"`
	// Process CPU time per request (getrusage: driver, gRPC and server alike) in each phase;
	// own_cpu_us_per_req is keygate's minus the protocol limit's, what keygate itself costs.
	CPUusPerReq          float64 `json:"cpu_us_per_req"`
	BaselineCPUusPerReq  float64 `json:"baseline_cpu_us_per_req"`
	LimitCPUusPerReq     float64 `json:"limit_cpu_us_per_req"`
	OwnCPUusPerReq       float64 `json:"own_cpu_us_per_req"`
	PipelineAllocsPerReq float64 `json:"pipeline_allocs_per_req"`
	HalfRateRPS          float64 `json:"half_rate_rps"`
	HalfRateP50us        float64 `json:"half_rate_p50_us"`
	HalfRateP99us        float64 `json:"half_rate_p99_us"`
	// HalfRateBaselineP99us is the no-op server's p99 at the same offered rate; the rule is
	// keygate's p99 <= 1.2x it + 200 µs, with no errors.
	HalfRateBaselineP99us float64 `json:"half_rate_baseline_p99_us"`
	HalfRateMet           bool    `json:"half_rate_met"`
	NeighbourBombP99us    float64 `json:"neighbour_bomb_p99_us,omitempty"` // half-rate p99 while another provider's script loops
	Errors                int64   `json:"errors"`
	// The memory scenario's rows: requests refused by the memory budget (503; errors counts
	// the others), the budget, the request bodies in flight (concurrency x body size), and
	// peak_rss_mib over them. There peak_rss_mib is keygate's own process (a child of the
	// driver), driver_peak_rss_mib the driver's, and met is rss_per_in_flight <= 3.
	Refused          *int64   `json:"refused,omitempty"`
	MemoryBudgetMiB  *float64 `json:"memory_budget_mib,omitempty"`
	InFlightMiB      *float64 `json:"in_flight_mib,omitempty"`
	RSSPerInFlight   *float64 `json:"rss_per_in_flight,omitempty"`
	DriverPeakRSSMiB float64  `json:"driver_peak_rss_mib,omitempty"`
	TokenFetches     int64    `json:"token_fetches_during_load"`
	KeystoreGets     int64    `json:"keystore_gets_during_load"`
	Note             string   `json:"note"`
}

func us(d time.Duration) float64 { return math.Round(float64(d.Nanoseconds())/100) / 10 }

func round(v float64, places int) float64 {
	p := math.Pow(10, float64(places))
	return math.Round(v*p) / p
}

func metText(r result) string {
	if r.Met == nil {
		return "-"
	}
	if *r.Met {
		return "yes"
	}
	return "NO"
}

func printTable(w io.Writer, rs []result) {
	var mem []result
	rs = slices.DeleteFunc(slices.Clone(rs), func(r result) bool {
		if r.Refused != nil {
			mem = append(mem, r)
		}
		return r.Refused != nil
	})
	defer printMemory(w, mem)
	if len(rs) == 0 {
		return // -scenarios memory
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scenario\tmsgs\treq/s\tno-op req/s\tratio\ttarget\tmet\tlimit req/s\tlimit ratio\tp50 µs\tp99 µs\tCPU µs/req\tno-op CPU\tlimit CPU\tkeygate's own CPU\tallocs/req\tpipeline allocs/req\tpeak RSS MiB\t")
	for _, r := range rs {
		target := "-"
		if r.Target > 0 {
			target = fmt.Sprintf(">=%.2f", r.Target)
		}
		fmt.Fprintf(tw, "%s\t%d\t%.0f\t%.0f\t%.3f\t%s\t%s\t%.0f\t%.3f\t%.1f\t%.1f\t%.0f\t%.0f\t%.0f\t%.0f\t%.0f\t%.0f\t%.1f\t\n", r.Scenario, r.Messages,
			r.RPS, r.BaselineRPS, r.Ratio, target, metText(r), r.LimitRPS, r.LimitRatio, r.P50us, r.P99us,
			r.CPUusPerReq, r.BaselineCPUusPerReq, r.LimitCPUusPerReq, r.OwnCPUusPerReq, r.AllocsPerReq, r.PipelineAllocsPerReq, r.PeakRSSMiB)
	}
	_ = tw.Flush()
	fmt.Fprintln(w)
	fmt.Fprintln(w, "half-rate pass (keygate and the no-op server each offered half the saturating keygate rate; rule: keygate p99 <= 1.2x no-op p99 + 200 µs):")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scenario\toffered req/s\tserved req/s\tp50 µs\tp99 µs\tno-op p99 µs\tmet\t")
	for _, r := range rs {
		met := "NO"
		if r.HalfRateMet {
			met = "yes"
		}
		fmt.Fprintf(tw, "%s\t%.0f\t%.0f\t%.1f\t%.1f\t%.1f\t%s\t\n", r.Scenario, r.RPS/2, r.HalfRateRPS, r.HalfRateP50us, r.HalfRateP99us, r.HalfRateBaselineP99us, met)
	}
	_ = tw.Flush()
	for _, r := range rs {
		if r.NeighbourBombP99us > 0 {
			fmt.Fprintf(w, "\n%s with a neighbour's looping script (bomb provider, %d senders): half-rate p99 %.1f µs, %.2fx the p99 without it (target <= 2x)\n",
				r.Scenario, bombSenders, r.NeighbourBombP99us, r.NeighbourBombP99us/max(r.HalfRateP99us, 1))
		}
	}
}

func writeJSON(path string, rs []result) error {
	data, err := json.MarshalIndent(rs, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(data, '\n'), 0o644)
}

func printMemory(w io.Writer, rs []result) {
	if len(rs) == 0 {
		return
	}
	fmt.Fprintln(w, "\nmemory (simple-aes, large bodies, keygate in a child process; rule: keygate's peak RSS <= 3x the request bodies in flight):")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scenario\tbudget MiB\tin flight MiB\tserved req/s\trefused (503)\tother errors\tkeygate peak RSS MiB\tRSS / in flight\tmet\tdriver peak RSS MiB\t")
	for _, r := range rs {
		fmt.Fprintf(tw, "%s\t%.0f\t%.0f\t%.1f\t%d\t%d\t%.0f\t%.2f\t%s\t%.0f\t\n", r.Scenario, *r.MemoryBudgetMiB, *r.InFlightMiB, r.RPS, *r.Refused, r.Errors,
			r.PeakRSSMiB, r.PeakRSSMiB/max(*r.InFlightMiB, 1), metText(r), r.DriverPeakRSSMiB)
	}
	_ = tw.Flush()
}
