package script

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/dop251/goja/ast"
	"github.com/dop251/goja/parser"
)

// SyntaxError is a script that does not parse, or whose top level is not made of function
// declarations. Line and Column (1-based, column in bytes) point into the source as written.
type SyntaxError struct {
	File   string
	Line   int
	Column int
	Msg    string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("script %s:%d:%d: %s", e.File, e.Line, e.Column, e.Msg)
}

// anonPrefix names the article's anonymous top-level functions; scripts must not declare names
// that start with it.
const anonPrefix = "__keygate_fn_"

// maxAnonymous bounds the rewrite loop: a source holds a request and a response function.
const maxAnonymous = 8

// MaxSourceBytes bounds a script's source. goja's parser recurses once per nesting level with
// kilobytes of Go stack each, and reparses nested arrow functions (quadratic time): a 1 MiB
// script of "(" needs more than Go's 1 GB stack limit, a fatal error that stops the gateway.
// 32 KiB keeps the worst nesting near 64 MB of stack and a second of parsing; provider
// scripts are a few KiB (examples/scripts).
const MaxSourceBytes = 32 << 10

// source is a script as written and as parsed. The article writes its functions as anonymous
// `function (...) {...}` at the top level, which is not valid JavaScript (a declaration needs a
// name), so each one is given a name right after the `function` keyword; inserts records where,
// so that positions in errors are reported against the text as written.
type source struct {
	name     string
	orig     string
	text     string   // orig with names inserted
	inserts  []insert // in increasing order
	program  *ast.Program
	funcs    []string // top-level function declarations in source order
	textLine []int    // offsets of line starts in text
}

type insert struct{ at, n int } // n bytes inserted at orig offset at

// parseSource parses src, naming anonymous top-level functions.
func parseSource(name, src string) (*source, error) {
	if len(src) > MaxSourceBytes {
		return nil, &SyntaxError{File: name, Line: 1, Column: 1,
			Msg: fmt.Sprintf("the script is %d bytes; the limit is %d (32 KiB)", len(src), MaxSourceBytes)}
	}
	s := &source{name: name, orig: src, text: src}
	for {
		prg, err := parser.ParseFile(nil, name, s.text, 0)
		if err == nil {
			s.program = prg
			break
		}
		pe := firstParseError(err)
		if pe == nil {
			return nil, &SyntaxError{File: name, Line: 1, Column: 1, Msg: err.Error()}
		}
		s.textLine = lineStarts(s.text)
		off := s.offsetOf(pe.Position.Line, pe.Position.Column)
		if pe.Message == "Unexpected token (" && len(s.inserts) < maxAnonymous {
			if kw := functionKeywordBefore(s.text, off); kw >= 0 {
				s.insertName(kw, anonPrefix+strconv.Itoa(len(s.inserts)))
				continue
			}
		}
		line, col := s.origPosition(off)
		return nil, &SyntaxError{File: name, Line: line, Column: col, Msg: pe.Message}
	}
	s.textLine = lineStarts(s.text)
	return s, s.checkTopLevel()
}

func firstParseError(err error) *parser.Error {
	switch e := err.(type) {
	case parser.ErrorList:
		if len(e) > 0 {
			return e[0]
		}
	case *parser.Error:
		return e
	}
	return nil
}

// functionKeywordBefore returns the offset just after a `function` keyword that precedes off
// with only whitespace between, or -1.
func functionKeywordBefore(text string, off int) int {
	i := off
	for i > 0 && strings.ContainsRune(" \t\r\n", rune(text[i-1])) {
		i--
	}
	const kw = "function"
	if i < len(kw) || text[i-len(kw):i] != kw {
		return -1
	}
	if j := i - len(kw); j > 0 && isIdentByte(text[j-1]) {
		return -1
	}
	return i
}

func isIdentByte(c byte) bool {
	return c == '_' || c == '$' || c >= 0x80 || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// insertName inserts " name" at text offset at (which lies in original text, not in an earlier
// insert: inserts sit between `function` and its parameters).
func (s *source) insertName(at int, name string) {
	ins := " " + name
	s.text = s.text[:at] + ins + s.text[at:]
	orig := s.toOrig(at)
	s.inserts = append(s.inserts, insert{at: orig, n: len(ins)})
	sortInserts(s.inserts)
}

func sortInserts(ins []insert) {
	for i := len(ins) - 1; i > 0 && ins[i].at < ins[i-1].at; i-- {
		ins[i], ins[i-1] = ins[i-1], ins[i]
	}
}

// toOrig maps an offset in text to the offset in orig; offsets inside an inserted name map to
// the insertion point.
func (s *source) toOrig(off int) int {
	shift := 0
	for _, in := range s.inserts {
		start := in.at + shift
		if off < start {
			break
		}
		if off < start+in.n {
			return in.at
		}
		shift += in.n
	}
	return off - shift
}

func (s *source) offsetOf(line, col int) int {
	if line < 1 || line > len(s.textLine) {
		return len(s.text)
	}
	return min(s.textLine[line-1]+col-1, len(s.text))
}

// origPosition is the 1-based line and column in orig of a text offset.
func (s *source) origPosition(off int) (int, int) {
	o := s.toOrig(off)
	starts := lineStarts(s.orig)
	line := 1
	for line < len(starts) && starts[line] <= o {
		line++
	}
	return line, o - starts[line-1] + 1
}

// position maps a goja position (line, column in text) to orig.
func (s *source) position(line, col int) (int, int) {
	return s.origPosition(s.offsetOf(line, col))
}

// lineStarts follows goja's file package: \n, \r\n, \r, U+2028 and U+2029 end a line.
func lineStarts(t string) []int {
	starts := []int{0}
	for i := 0; i < len(t); i++ {
		switch {
		case t[i] == '\n':
			starts = append(starts, i+1)
		case t[i] == '\r':
			if i+1 < len(t) && t[i+1] == '\n' {
				i++
			}
			starts = append(starts, i+1)
		case strings.HasPrefix(t[i:], "\u2028") || strings.HasPrefix(t[i:], "\u2029"):
			i += 2
			starts = append(starts, i+1)
		}
	}
	return starts
}

// notInert is the first binding of a var statement that is not an identifier given an inert
// initializer (inert.go), or nil.
func notInert(st *ast.VariableStatement) ast.Node {
	for _, b := range st.List {
		if _, ok := b.Target.(*ast.Identifier); !ok {
			return b.Target // a pattern reads through getters and iterators
		}
		if !inert(b.Initializer) {
			return b.Initializer
		}
	}
	return nil
}

// checkTopLevel allows only function declarations, var statements and directives at the top
// level, and records the functions in order. A top-level let/const or expression would hold state
// across requests that the frozen global object cannot protect.
func (s *source) checkTopLevel() error {
	for _, st := range s.program.Body {
		switch st := st.(type) {
		case *ast.FunctionDeclaration:
			if st.Function.Name != nil {
				s.funcs = append(s.funcs, st.Function.Name.Name.String())
			}
			continue
		case *ast.EmptyStatement:
			continue
		case *ast.VariableStatement:
			if bad := notInert(st); bad != nil {
				line, col := s.position(s.lineCol(int(bad.Idx0())))
				return &SyntaxError{File: s.name, Line: line, Column: col,
					Msg: "a top-level var may hold literals, object and array literals of them and functions, not code that runs (it could keep state between requests): call it inside a function"}
			}
			continue
		case *ast.ExpressionStatement:
			if _, ok := st.Expression.(*ast.StringLiteral); ok {
				continue
			}
		}
		line, col := s.position(s.lineCol(int(st.Idx0())))
		return &SyntaxError{File: s.name, Line: line, Column: col,
			Msg: "only function declarations and var statements may appear at the top level"}
	}
	if len(s.funcs) == 0 {
		return &SyntaxError{File: s.name, Line: 1, Column: 1, Msg: "the script defines no function"}
	}
	return nil
}

// lineCol converts a goja file.Idx (1-based offset into text) to a text line and column.
func (s *source) lineCol(idx int) (int, int) {
	off := max(idx-1, 0)
	line := 1
	for line < len(s.textLine) && s.textLine[line] <= off {
		line++
	}
	return line, off - s.textLine[line-1] + 1
}
