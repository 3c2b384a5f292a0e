package script

import (
	"errors"
	"slices"
	"testing"
)

// TestIsIdentByteEdges: the bytes that continue an identifier (so "xfunction (" is no keyword),
// at the edges of each range.
func TestIsIdentByteEdges(t *testing.T) {
	for _, c := range []byte{'_', '$', 0x80, 0xff, '0', '9', 'a', 'z', 'A', 'Z', 'm'} {
		if !isIdentByte(c) {
			t.Errorf("isIdentByte(%q) = false", c)
		}
	}
	for _, c := range []byte{'/', ':', '`', '{', '@', '[', 0x7f, ' ', '-', '(', '\n', 0} {
		if isIdentByte(c) {
			t.Errorf("isIdentByte(%q) = true", c)
		}
	}
}

// TestFunctionKeywordBefore finds `function` before an offset across whitespace, at the very
// start of the text, and never inside a longer identifier.
func TestFunctionKeywordBefore(t *testing.T) {
	for _, tc := range []struct {
		text string
		off  int
		want int
	}{
		{"function (a) {}", 9, 8},
		{"function(a) {}", 8, 8},
		{"function \n\t(a) {}", 11, 8},
		{"x = function (a) {}", 13, 12},
		{"xfunction (a) {}", 10, -1},
		{"_function (a) {}", 10, -1},
		{"$function (a) {}", 10, -1},
		{"9function (a) {}", 10, -1},
		{"Zfunction (a) {}", 10, -1},
		{"(function (a) {})", 10, 9},
		{"unction (a)", 8, -1},
		{" (a)", 1, -1},
		{"(a)", 0, -1},
	} {
		if got := functionKeywordBefore(tc.text, tc.off); got != tc.want {
			t.Errorf("functionKeywordBefore(%q, %d) = %d, want %d", tc.text, tc.off, got, tc.want)
		}
	}
}

// TestInsertsMapBackToTheOriginal: names inserted after anonymous `function` keywords, in any
// order, map text offsets back to the script as written (an offset inside an insert maps to
// its insertion point), so errors point at the author's line and column.
func TestInsertsMapBackToTheOriginal(t *testing.T) {
	s := &source{orig: "function (a) {}\nfunction (b) {}\n"}
	s.text = s.orig
	s.insertName(24, "__anon1") // the second function first
	s.insertName(8, "__anon0")
	if !slices.IsSortedFunc(s.inserts, func(a, b insert) int { return a.at - b.at }) {
		t.Fatalf("inserts not in order: %+v", s.inserts)
	}
	for _, tc := range []struct{ textOff, orig int }{
		{0, 0}, {8, 8}, {15, 8}, {16, 8}, {17, 9}, {32, 24}, {39, 24}, {40, 24}, {41, 25}, {47, 31},
	} {
		if got := s.toOrig(tc.textOff); got != tc.orig {
			t.Errorf("toOrig(%d) = %d, want %d (text %q)", tc.textOff, got, tc.orig, s.text)
		}
	}
	s.textLine = lineStarts(s.text)
	if line, col := s.origPosition(len(s.text) - 3); line != 2 || col != 14 {
		t.Errorf("origPosition of the second function's body = %d:%d, want 2:14", line, col)
	}
}

// TestAnonymousFunctionsUpToTheLimit: up to maxAnonymous anonymous top-level functions are
// named; one more is a syntax error at the first one left unnamed.
func TestAnonymousFunctionsUpToTheLimit(t *testing.T) {
	src := func(n int) string {
		s := ""
		for range n {
			s += "function (a) {}\n"
		}
		return s
	}
	if _, err := parseSource("s.js", src(maxAnonymous)); err != nil {
		t.Fatalf("%d anonymous functions: %v", maxAnonymous, err)
	}
	_, err := parseSource("s.js", src(maxAnonymous+1))
	var se *SyntaxError
	if !errors.As(err, &se) || se.Line != maxAnonymous+1 {
		t.Fatalf("%d anonymous functions: err %v, want a syntax error on line %d", maxAnonymous+1, err, maxAnonymous+1)
	}
}

// TestTopLevelStatementPosition: a statement not allowed at the top level is reported at its
// line and column as written, on any line (the last included) and after anonymous functions.
func TestTopLevelStatementPosition(t *testing.T) {
	for src, want := range map[string][2]int{
		"x = 1;\nfunction f() {}":                         {1, 1},
		"function f() {}\nx = 1;":                         {2, 1},
		"function f() {}\n\n  x = 1;\n":                   {3, 3},
		"function (a) {}\nfunction (b) {}\n   let y = 1;": {3, 4},
	} {
		_, err := parseSource("s.js", src)
		var se *SyntaxError
		if !errors.As(err, &se) || se.Line != want[0] || se.Column != want[1] {
			t.Errorf("%q: err %v, want at %d:%d", src, err, want[0], want[1])
		}
	}
}
