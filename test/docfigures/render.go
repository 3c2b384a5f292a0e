package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"text/tabwriter"
)

// Files are the documents that hold generated blocks, relative to the repository's root.
var Files = []string{"README.md", "docs/performance.md", "docs/custom-mode.md"}

// run is docs/figures/run.json: where and when the figures were measured.
type run struct {
	Date       string `json:"date"`
	Commit     string `json:"commit"`
	CPU        string `json:"cpu"`
	CPUs       int    `json:"cpus"`
	GoVersion  string `json:"go"`
	LoadBefore string `json:"load_before"` // /proc/loadavg's first three fields before the run
	Command    string `json:"command"`
}

// row is the part of a BENCH_OUT row the documents show.
type row struct {
	Scenario              string   `json:"scenario"`
	Messages              int      `json:"messages_per_req"`
	RPS                   float64  `json:"rps"`
	BaselineRPS           float64  `json:"baseline_rps"`
	Ratio                 float64  `json:"ratio"`
	Target                float64  `json:"target"`
	Met                   *bool    `json:"met"`
	LimitRPS              float64  `json:"limit_rps"`
	LimitRatio            float64  `json:"limit_ratio"`
	P50us                 float64  `json:"p50_us"`
	P99us                 float64  `json:"p99_us"`
	CPUusPerReq           float64  `json:"cpu_us_per_req"`
	BaselineCPUusPerReq   float64  `json:"baseline_cpu_us_per_req"`
	LimitCPUusPerReq      float64  `json:"limit_cpu_us_per_req"`
	OwnCPUusPerReq        float64  `json:"own_cpu_us_per_req"`
	AllocsPerReq          float64  `json:"allocs_per_req"`
	PipelineAllocsPerReq  float64  `json:"pipeline_allocs_per_req"`
	PeakRSSMiB            float64  `json:"peak_rss_mib"`
	HalfRateRPS           float64  `json:"half_rate_rps"`
	HalfRateP99us         float64  `json:"half_rate_p99_us"`
	HalfRateBaselineP99us float64  `json:"half_rate_baseline_p99_us"`
	HalfRateMet           bool     `json:"half_rate_met"`
	Errors                int64    `json:"errors"`
	Refused               *int64   `json:"refused,omitempty"`
	InFlightMiB           *float64 `json:"in_flight_mib,omitempty"`
	MemoryBudgetMiB       *float64 `json:"memory_budget_mib,omitempty"`
	// Memory rows measured with keygate in its own process carry the ratio (and peak_rss_mib
	// is keygate's); older ones measured the whole driver process.
	RSSPerInFlight   *float64 `json:"rss_per_in_flight,omitempty"`
	DriverPeakRSSMiB float64  `json:"driver_peak_rss_mib,omitempty"`
}

// gobench is one line of `go test -bench` output: the name and each value by unit.
type gobench struct {
	Pkg, Name string
	Values    map[string]float64
	Units     []string
}

type data struct {
	run   run
	rows  []row
	bench []gobench
}

func load(root string) (*data, error) {
	dir := filepath.Join(root, "docs", "figures")
	var d data
	raw, err := os.ReadFile(filepath.Join(dir, "run.json"))
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(raw, &d.run); err != nil {
		return nil, fmt.Errorf("run.json: %w", err)
	}
	if raw, err = os.ReadFile(filepath.Join(dir, "bench.json")); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(raw, &d.rows); err != nil {
		return nil, fmt.Errorf("bench.json: %w", err)
	}
	if raw, err = os.ReadFile(filepath.Join(dir, "gobench.txt")); err != nil {
		return nil, err
	}
	d.bench = parseGoBench(raw)
	if len(d.rows) == 0 || len(d.bench) == 0 {
		return nil, fmt.Errorf("docs/figures holds no bench rows or no Go benchmarks")
	}
	return &d, nil
}

// parseGoBench reads `go test -bench` output: "pkg: P" lines name the package of the
// benchmark lines after them.
func parseGoBench(raw []byte) []gobench {
	var out []gobench
	pkg := ""
	sc := bufio.NewScanner(bytes.NewReader(raw))
	for sc.Scan() {
		line := sc.Text()
		if p, ok := strings.CutPrefix(line, "pkg: "); ok {
			pkg = strings.TrimPrefix(strings.TrimSpace(p), "github.com/keygate/keygate/")
			continue
		}
		f := strings.Fields(line)
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		b := gobench{Pkg: pkg, Name: strings.TrimSuffix(f[0], "-"+suffixProcs(f[0])), Values: map[string]float64{}}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				break
			}
			b.Values[f[i+1]] = v
			b.Units = append(b.Units, f[i+1])
		}
		out = append(out, b)
	}
	return out
}

func suffixProcs(name string) string {
	if i := strings.LastIndexByte(name, '-'); i >= 0 {
		return name[i+1:]
	}
	return ""
}

// blocks renders every named block.
func (d *data) blocks() map[string]string {
	return map[string]string{
		"machine":       d.machine(),
		"bench-summary": d.summary(),
		"bench-table":   d.table(),
		"half-rate":     d.halfRate(),
		"go-benchmarks": d.goBenchmarks(),
		"memory":        d.memory(),
		"per-core":      d.perCore(),
	}
}

func (d *data) machine() string {
	r := d.run
	return fmt.Sprintf("Measured %s (commit %s) on %d vCPUs (%s), %s, load average before the run %s; command: `%s`. "+
		"The machine is shared: absolute rates move from run to run, ratios within one run and allocation counts do not.\n",
		r.Date, r.Commit, r.CPUs, r.CPU, r.GoVersion, r.LoadBefore, r.Command)
}

func met(r row) string {
	switch {
	case r.Met == nil:
		return "-"
	case *r.Met:
		return "yes"
	}
	return "no"
}

func target(r row) string {
	if r.Target == 0 {
		return "-"
	}
	return fmt.Sprintf("≥ %.2f", r.Target)
}

func (d *data) summary() string {
	var b strings.Builder
	b.WriteString("| scenario | messages | × no-op | target | met | × protocol limit | keygate's own CPU µs/req |\n|---|---|---|---|---|---|---|\n")
	for _, r := range d.rows {
		if r.Refused != nil {
			continue
		}
		fmt.Fprintf(&b, "| %s | %d | %.2f | %s | %s | %.2f | %.0f |\n", r.Scenario, r.Messages, r.Ratio, target(r), met(r), r.LimitRatio, r.OwnCPUusPerReq)
	}
	return b.String()
}

func (d *data) table() string {
	var b bytes.Buffer
	b.WriteString("```\n")
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scenario\tmsgs\treq/s\tno-op req/s\tratio\tlimit req/s\tlimit ratio\tp50 µs\tp99 µs\tCPU µs/req\tno-op CPU\tlimit CPU\town CPU\tallocs/req\tpipeline allocs\tpeak RSS MiB\terrors\t")
	for _, r := range d.rows {
		if r.Refused != nil {
			continue
		}
		fmt.Fprintf(tw, "%s\t%d\t%.0f\t%.0f\t%.3f\t%.0f\t%.3f\t%.0f\t%.0f\t%.0f\t%.0f\t%.0f\t%.0f\t%.0f\t%.0f\t%.1f\t%d\t\n",
			r.Scenario, r.Messages, r.RPS, r.BaselineRPS, r.Ratio, r.LimitRPS, r.LimitRatio, r.P50us, r.P99us,
			r.CPUusPerReq, r.BaselineCPUusPerReq, r.LimitCPUusPerReq, r.OwnCPUusPerReq, r.AllocsPerReq, r.PipelineAllocsPerReq, r.PeakRSSMiB, r.Errors)
	}
	_ = tw.Flush()
	b.WriteString("```\n")
	return b.String()
}

func (d *data) halfRate() string {
	var b strings.Builder
	b.WriteString("| scenario | offered req/s | served req/s | keygate p99 µs | no-op p99 µs, same rate | p99 ≤ 1.2× no-op + 200 µs |\n|---|---|---|---|---|---|\n")
	for _, r := range d.rows {
		if r.Refused != nil {
			continue
		}
		ok := "no"
		if r.HalfRateMet {
			ok = "yes"
		}
		fmt.Fprintf(&b, "| %s | %.0f | %.0f | %.0f | %.0f | %s |\n", r.Scenario, r.RPS/2, r.HalfRateRPS, r.HalfRateP99us, r.HalfRateBaselineP99us, ok)
	}
	return b.String()
}

// perCore estimates keygate's CPU per request in a deployment, where Envoy and keygate do not
// share a process with a load driver: keygate's own CPU plus half the protocol limit's (its
// side of gRPC; the driver plays Envoy's side of the same messages).
func (d *data) perCore() string {
	var b strings.Builder
	b.WriteString("| scenario | keygate's own CPU µs/req | + its half of the protocol µs/req | ≈ requests per second per core |\n|---|---|---|---|\n")
	for _, r := range d.rows {
		if r.Refused != nil {
			continue
		}
		half := r.LimitCPUusPerReq / 2
		fmt.Fprintf(&b, "| %s | %.0f | %.0f | %.0f |\n", r.Scenario, r.OwnCPUusPerReq, half, 1e6/max(r.OwnCPUusPerReq+half, 1))
	}
	return b.String()
}

func (d *data) memory() string {
	var b strings.Builder
	own := false
	for _, r := range d.rows {
		own = own || r.RSSPerInFlight != nil
	}
	if own {
		b.WriteString("| scenario | budget MiB | request bodies in flight MiB | served req/s | refused (503) | other errors | keygate's peak RSS MiB (own process) | peak RSS / in flight | ≤ 3× |\n|---|---|---|---|---|---|---|---|---|\n")
	} else {
		b.WriteString("| scenario | budget MiB | request bodies in flight MiB | served req/s | refused (503) | other errors | peak RSS MiB (whole process) | peak RSS / in flight |\n|---|---|---|---|---|---|---|---|\n")
	}
	n := 0
	for _, r := range d.rows {
		if r.Refused == nil || r.InFlightMiB == nil || r.MemoryBudgetMiB == nil {
			continue
		}
		n++
		fmt.Fprintf(&b, "| %s | %.0f | %.0f | %.1f | %d | %d | %.0f | %.2f |", r.Scenario, *r.MemoryBudgetMiB, *r.InFlightMiB, r.RPS,
			*r.Refused, r.Errors, r.PeakRSSMiB, r.PeakRSSMiB/max(*r.InFlightMiB, 1))
		if own {
			fmt.Fprintf(&b, " %s |", met(r))
		}
		b.WriteString("\n")
	}
	if n == 0 {
		return "(no memory scenario in docs/figures/bench.json)\n"
	}
	return b.String()
}

func (d *data) goBenchmarks() string {
	var b strings.Builder
	b.WriteString("| package | benchmark | time/op | CPU/op | B/op | allocs/op |\n|---|---|---|---|---|---|\n")
	for _, g := range d.bench {
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s | %s |\n", g.Pkg, g.Name, duration(g.Values["ns/op"]), duration(g.Values["cpu-ns/op"]),
			count(g.Values["B/op"], g.Units, "B/op"), count(g.Values["allocs/op"], g.Units, "allocs/op"))
	}
	return b.String()
}

func duration(ns float64) string {
	switch {
	case ns == 0:
		return "-"
	case ns >= 1e9:
		return fmt.Sprintf("%.2f s", ns/1e9)
	case ns >= 1e6:
		return fmt.Sprintf("%.1f ms", ns/1e6)
	case ns >= 1e3:
		return fmt.Sprintf("%.1f µs", ns/1e3)
	}
	return fmt.Sprintf("%.0f ns", ns)
}

func count(v float64, units []string, unit string) string {
	for _, u := range units {
		if u == unit {
			return strconv.FormatFloat(v, 'f', -1, 64)
		}
	}
	return "-"
}

var blockRE = regexp.MustCompile(`(?s)(<!-- figures:([a-z-]+) -->\n)(.*?)(<!-- /figures:([a-z-]+) -->)`)

// Sync renders every block of Files from the data files. With write it rewrites the files;
// either way it returns the blocks ("file: name") whose text differed.
func Sync(root string, write bool) ([]string, error) {
	d, err := load(root)
	if err != nil {
		return nil, err
	}
	blocks := d.blocks()
	var stale []string
	for _, f := range Files {
		path := filepath.Join(root, f)
		old, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		var bad error
		updated := blockRE.ReplaceAllFunc(old, func(m []byte) []byte {
			sub := blockRE.FindSubmatch(m)
			name, closing := string(sub[2]), string(sub[5])
			want, ok := blocks[name]
			switch {
			case closing != name:
				bad = fmt.Errorf("%s: block %q is closed by %q", f, name, closing)
				return m
			case !ok:
				bad = fmt.Errorf("%s: no figures named %q", f, name)
				return m
			}
			if string(sub[3]) != want {
				stale = append(stale, f+": "+name)
			}
			return []byte(string(sub[1]) + want + string(sub[4]))
		})
		if bad != nil {
			return nil, bad
		}
		if write && !bytes.Equal(old, updated) {
			if err := os.WriteFile(path, updated, 0o644); err != nil {
				return nil, err
			}
		}
	}
	return stale, nil
}
