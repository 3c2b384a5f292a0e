package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDocsMatchFigures fails when a figure in README or docs differs from what the checked-in
// docs/figures files render: a number edited by hand, or figures measured again without
// re-rendering. It runs no benchmark.
func TestDocsMatchFigures(t *testing.T) {
	stale, err := Sync("../..", false)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range stale {
		t.Errorf("%s differs from docs/figures; run `go run ./test/docfigures -write` (or `make docs-figures` to measure again)", s)
	}
}

// TestEveryBlockIsUsed: each block the renderer knows appears in some document, so no figure
// is rendered for nobody, and README names the machine and date of its figures.
func TestEveryBlockIsUsed(t *testing.T) {
	d, err := load("../..")
	if err != nil {
		t.Fatal(err)
	}
	var all strings.Builder
	for _, f := range Files {
		b, err := os.ReadFile(filepath.Join("../..", f))
		if err != nil {
			t.Fatal(err)
		}
		all.Write(b)
	}
	for name := range d.blocks() {
		if !strings.Contains(all.String(), "<!-- figures:"+name+" -->") {
			t.Errorf("block %q appears in no document", name)
		}
	}
}

// TestSyncFindsAnEditedFigure: a figure changed by hand inside a block is reported, and a
// block with an unknown name or a mismatched end is an error, not a silent pass.
func TestSyncFindsAnEditedFigure(t *testing.T) {
	root := t.TempDir()
	copyTree(t, "../../docs/figures", filepath.Join(root, "docs", "figures"))
	for _, f := range Files {
		b, err := os.ReadFile(filepath.Join("../..", f))
		if err != nil {
			t.Fatal(err)
		}
		write(t, filepath.Join(root, f), string(b))
	}
	if stale, err := Sync(root, false); err != nil || len(stale) != 0 {
		t.Fatalf("a faithful copy: stale %v, err %v", stale, err)
	}
	d, _ := load(root)
	summary := d.blocks()["bench-summary"]
	readme, _ := os.ReadFile(filepath.Join(root, "README.md"))
	edited := strings.Replace(string(readme), summary, strings.Replace(summary, "|", "| x", 1), 1)
	write(t, filepath.Join(root, "README.md"), edited)
	if stale, err := Sync(root, false); err != nil || len(stale) != 1 || stale[0] != "README.md: bench-summary" {
		t.Fatalf("an edited figure: stale %v, err %v", stale, err)
	}
	write(t, filepath.Join(root, "README.md"), string(readme)+"\n<!-- figures:nope -->\nx\n<!-- /figures:nope -->\n")
	if _, err := Sync(root, false); err == nil {
		t.Fatal("an unknown block passed")
	}
	write(t, filepath.Join(root, "README.md"), string(readme)+"\n<!-- figures:machine -->\nx\n<!-- /figures:memory -->\n")
	if _, err := Sync(root, false); err == nil {
		t.Fatal("a block closed by another name passed")
	}
}

func write(t *testing.T, path, s string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

func copyTree(t *testing.T, from, to string) {
	t.Helper()
	entries, err := os.ReadDir(from)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(from, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		write(t, filepath.Join(to, e.Name()), string(b))
	}
}

// TestMemoryTableOwnProcess: memory rows from the load driver's child-process measurement
// (rss_per_in_flight present) render as keygate's own RSS with the 3x rule; older rows keep
// the whole-process heading.
func TestMemoryTableOwnProcess(t *testing.T) {
	var rows []row
	if err := json.Unmarshal([]byte(`[{"scenario":"memory-tight-budget","rps":7.5,"peak_rss_mib":383,"errors":0,"refused":6960,
		"memory_budget_mib":256,"in_flight_mib":256,"rss_per_in_flight":1.5,"met":true,"driver_peak_rss_mib":1077}]`), &rows); err != nil {
		t.Fatal(err)
	}
	got := (&data{rows: rows}).memory()
	if !strings.Contains(got, "keygate's peak RSS MiB (own process)") || !strings.Contains(got, "| memory-tight-budget | 256 | 256 | 7.5 | 6960 | 0 | 383 | 1.50 | yes |") {
		t.Errorf("memory table:\n%s", got)
	}
	rows[0].RSSPerInFlight = nil
	if got := (&data{rows: rows}).memory(); !strings.Contains(got, "(whole process)") {
		t.Errorf("an older row's table:\n%s", got)
	}
}
