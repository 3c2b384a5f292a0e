package versions

import (
	"fmt"
	"strings"
)

// diffContext is the number of unchanged lines shown around a change, as in `diff -u`.
const diffContext = 3

// maxDiffCells bounds the LCS table; beyond it the diff shows a whole replacement.
const maxDiffCells = 16 << 20

type diffOp struct {
	kind   byte // ' ', '-', '+'
	text   string
	ai, bi int // lines of a and b consumed before this op
}

// UnifiedDiff is a unified line diff (`diff -u` format, 3 lines of context) from a to b, or ""
// when they are equal. It uses the longest common subsequence of lines: config files are small.
func UnifiedDiff(fromName, toName string, a, b []byte) string {
	x, y := splitLines(string(a)), splitLines(string(b))
	ops := lineOps(x, y)
	var changed []int
	for i, op := range ops {
		if op.kind != ' ' {
			changed = append(changed, i)
		}
	}
	if len(changed) == 0 {
		return ""
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "--- %s\n+++ %s\n", fromName, toName)
	for i := 0; i < len(changed); {
		start := max(changed[i]-diffContext, 0)
		j := i
		for j+1 < len(changed) && changed[j+1]-changed[j] <= 2*diffContext {
			j++
		}
		end := min(changed[j]+diffContext+1, len(ops))
		writeHunk(&sb, ops[start:end])
		i = j + 1
	}
	return sb.String()
}

func writeHunk(sb *strings.Builder, ops []diffOp) {
	al, bl := 0, 0
	for _, op := range ops {
		if op.kind != '+' {
			al++
		}
		if op.kind != '-' {
			bl++
		}
	}
	as, bs := ops[0].ai+1, ops[0].bi+1
	if al == 0 {
		as--
	}
	if bl == 0 {
		bs--
	}
	fmt.Fprintf(sb, "@@ -%d,%d +%d,%d @@\n", as, al, bs, bl)
	for _, op := range ops {
		sb.WriteByte(op.kind)
		sb.WriteString(op.text)
		sb.WriteByte('\n')
	}
}

func lineOps(x, y []string) []diffOp {
	n, m := len(x), len(y)
	if (n+1)*(m+1) > maxDiffCells {
		var ops []diffOp
		for i, l := range x {
			ops = append(ops, diffOp{'-', l, i, 0})
		}
		for j, l := range y {
			ops = append(ops, diffOp{'+', l, n, j})
		}
		return ops
	}
	// lcs[i][j] is the LCS length of x[i:] and y[j:].
	lcs := make([][]int32, n+1)
	for i := range lcs {
		lcs[i] = make([]int32, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if x[i] == y[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var ops []diffOp
	i, j := 0, 0
	for i < n || j < m {
		switch {
		case i < n && j < m && x[i] == y[j]:
			ops = append(ops, diffOp{' ', x[i], i, j})
			i, j = i+1, j+1
		case j < m && (i == n || lcs[i][j+1] > lcs[i+1][j]):
			ops = append(ops, diffOp{'+', y[j], i, j})
			j++
		default:
			ops = append(ops, diffOp{'-', x[i], i, j})
			i++
		}
	}
	return ops
}

func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}
