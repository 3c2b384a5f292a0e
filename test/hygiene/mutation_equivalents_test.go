package hygiene

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestEquivalentMutantsPointAtTheirOperator: scripts/mutate.sh leaves out the mutants
// docs/mutation.md lists as equivalent, by file:line:column. Code moves; an entry whose line
// no longer holds the operator its mutator changes would leave out nothing (and the mutant it
// meant would count as lived), or worse, leave out another. Each entry's position must still
// be an operator of its mutator's kind; when code moves, move the entry with it.
func TestEquivalentMutantsPointAtTheirOperator(t *testing.T) {
	root := filepath.Join("..", "..")
	doc, err := os.ReadFile(filepath.Join(root, "docs", "mutation.md"))
	if err != nil {
		t.Fatal(err)
	}
	operators := map[string][]string{ // longest first
		"CONDITIONALS_BOUNDARY": {"<=", ">=", "<", ">"},
		"CONDITIONALS_NEGATION": {"==", "!=", "<=", ">=", "<", ">"},
		"ARITHMETIC_BASE":       {"+", "-", "*", "/", "%"},
		"INVERT_NEGATIVES":      {"-"},
		"INCREMENT_DECREMENT":   {"++", "--"},
		"INVERT_LOGICAL":        {"&&", "||"},
	}
	entry := regexp.MustCompile("(?m)^- `([^` ]+):([0-9]+):([0-9]+) ([A-Z_]+)`")
	files := map[string][]string{}
	n := 0
	for _, m := range entry.FindAllStringSubmatch(string(doc), -1) {
		n++
		file, mutator := m[1], m[4]
		line, _ := strconv.Atoi(m[2])
		col, _ := strconv.Atoi(m[3])
		ops, ok := operators[mutator]
		if !ok {
			t.Errorf("%s: unknown mutator %s", m[0], mutator)
			continue
		}
		lines, ok := files[file]
		if !ok {
			b, err := os.ReadFile(filepath.Join(root, file))
			if err != nil {
				t.Errorf("%s: %v", m[0], err)
				continue
			}
			lines = strings.Split(string(b), "\n")
			files[file] = lines
		}
		if line < 1 || line > len(lines) || col < 1 || col > len(lines[line-1]) {
			t.Errorf("%s: %s has no line %d column %d", m[0], file, line, col)
			continue
		}
		at := lines[line-1][col-1:]
		found := false
		for _, op := range ops {
			if strings.HasPrefix(at, op) {
				found = true
				break
			}
		}
		if !found {
			t.Errorf("%s: line %d column %d of %s is %q, not an operator %s changes: the code moved, move the entry", m[0], line, col, file, firstChars(at, 12), mutator)
		}
	}
	if n < 10 {
		t.Fatalf("found %d equivalent entries in docs/mutation.md: the pattern is broken", n)
	}
}

func firstChars(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
