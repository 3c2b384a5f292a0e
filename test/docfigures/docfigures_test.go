package main

import (
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
