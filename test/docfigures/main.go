// Command docfigures renders the measured figures in README.md and docs/*.md from the files
// `make docs-figures` writes under docs/figures: bench.json (the load driver's BENCH_OUT),
// gobench.txt (the Go benchmarks' output) and run.json (machine, date, commit). Every figure
// lives in one generated block, between <!-- figures:NAME --> and <!-- /figures:NAME -->; the
// text around the blocks carries no figures of its own. Without -write it only checks: it
// exits non-zero and names each block that differs from what the data files render (the same
// check runs as TestDocsMatchFigures, without running any benchmark).
package main

import (
	"flag"
	"fmt"
	"os"
)

func main() {
	root := flag.String("root", ".", "the repository's root")
	write := flag.Bool("write", false, "rewrite the blocks (default: check them)")
	flag.Parse()
	stale, err := Sync(*root, *write)
	if err != nil {
		fmt.Fprintln(os.Stderr, "docfigures:", err)
		os.Exit(1)
	}
	for _, s := range stale {
		if *write {
			fmt.Println("rewrote", s)
		} else {
			fmt.Fprintln(os.Stderr, "docfigures: stale:", s)
		}
	}
	if len(stale) > 0 && !*write {
		fmt.Fprintln(os.Stderr, "docfigures: run `make docs-figures` (measures again) or `go run ./test/docfigures -write` (re-renders the checked-in figures)")
		os.Exit(1)
	}
}
