package versions

import (
	"fmt"
	"strings"
	"testing"
)

func TestUnifiedDiff(t *testing.T) {
	cases := []struct {
		name, a, b, want string
	}{
		{"equal", "a\nb\n", "a\nb\n", ""},
		{"change in middle", "1\n2\n3\n4\n5\n6\n7\n8\n9\n", "1\n2\n3\n4\nfive\n6\n7\n8\n9\n",
			"--- v1\n+++ v2\n@@ -2,7 +2,7 @@\n 2\n 3\n 4\n-5\n+five\n 6\n 7\n 8\n"},
		{"append to empty", "", "x\n", "--- v1\n+++ v2\n@@ -0,0 +1,1 @@\n+x\n"},
		{"delete all", "x\ny\n", "", "--- v1\n+++ v2\n@@ -1,2 +0,0 @@\n-x\n-y\n"},
		{"two hunks", "a\n1\n2\n3\n4\n5\n6\n7\n8\nb\n", "A\n1\n2\n3\n4\n5\n6\n7\n8\nB\n",
			"--- v1\n+++ v2\n@@ -1,4 +1,4 @@\n-a\n+A\n 1\n 2\n 3\n@@ -7,4 +7,4 @@\n 6\n 7\n 8\n-b\n+B\n"},
		// Five unchanged lines between two changes: the two contexts of three would overlap, so
		// it is one hunk, not two that print lines 3 and 4 twice.
		{"changes six apart are one hunk", "a\n1\n2\n3\n4\n5\nb\n", "A\n1\n2\n3\n4\n5\nB\n",
			"--- v1\n+++ v2\n@@ -1,7 +1,7 @@\n-a\n+A\n 1\n 2\n 3\n 4\n 5\n-b\n+B\n"},
		{"insert at start", "b\nc\n", "a\nb\nc\n", "--- v1\n+++ v2\n@@ -1,2 +1,3 @@\n+a\n b\n c\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := UnifiedDiff("v1", "v2", []byte(c.a), []byte(c.b)); got != c.want {
				t.Fatalf("got:\n%s\nwant:\n%s", got, c.want)
			}
		})
	}
}

// TestDiffOfHugeConfigsIsAWholeReplacement: the LCS table is bounded by maxDiffCells
// ((lines+1) x (lines+1) cells); a diff at the bound is still computed line by line, one cell
// beyond it shows a whole replacement instead of allocating more.
func TestDiffOfHugeConfigsIsAWholeReplacement(t *testing.T) {
	lines := func(n int, first string) []byte {
		var b strings.Builder
		b.WriteString(first + "\n")
		for i := 1; i < n; i++ {
			fmt.Fprintf(&b, "line %d\n", i)
		}
		return []byte(b.String())
	}
	const side = 4096 // side*side == maxDiffCells
	if side*side != maxDiffCells {
		t.Fatalf("side %d does not square to maxDiffCells %d", side, maxDiffCells)
	}
	count := func(d string, c byte) (n int) {
		for _, l := range strings.Split(d, "\n") {
			if len(l) > 0 && l[0] == c && !strings.HasPrefix(l, "---") && !strings.HasPrefix(l, "+++") {
				n++
			}
		}
		return n
	}
	// At the bound: one changed line, one small hunk.
	d := UnifiedDiff("v1", "v2", lines(side-1, "a"), lines(side-1, "b"))
	if count(d, '-') != 1 || count(d, '+') != 1 {
		t.Errorf("at the bound: %d removed, %d added lines, want the one change", count(d, '-'), count(d, '+'))
	}
	// One line more on one side: beyond the bound, every line is replaced.
	d = UnifiedDiff("v1", "v2", lines(side-1, "a"), lines(side, "b"))
	if count(d, '-') != side-1 || count(d, '+') != side {
		t.Errorf("beyond the bound: %d removed, %d added lines, want a whole replacement (%d, %d)", count(d, '-'), count(d, '+'), side-1, side)
	}
}
