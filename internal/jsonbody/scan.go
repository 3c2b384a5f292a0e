package jsonbody

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
)

// maxDepth is encoding/json's nesting limit: deeper texts are refused as it refuses them.
const maxDepth = 10000

// A SyntaxError says where a body stops being JSON and why.
type SyntaxError struct {
	Offset int // bytes read before the error
	msg    string
}

func (e *SyntaxError) Error() string { return fmt.Sprintf("%s (offset %d)", e.msg, e.Offset) }

// Valid reports whether b is one JSON text (RFC 8259), accepting exactly what encoding/json's
// Valid accepts (strings are not checked for UTF-8; Parse checks that separately). It is a
// single tight pass: encoding/json's scanner calls a function per byte, which made validation
// the largest single cost of keygate's AES paths.
func Valid(b []byte) bool {
	s := scanner{b: b}
	return s.text() == nil
}

// scanner validates JSON in one pass. i is the offset of the next unread byte.
type scanner struct {
	b     []byte
	i     int
	stack containers // the open containers, '{' or '['
	// escaped: a string scanned since it was last cleared held a backslash escape (split
	// reads it for each member's value).
	escaped bool
}

// containers is the scanner's stack of open containers. The first shallowDepth live in the
// scanner itself (a scan of an ordinary body allocates nothing); deeper ones in a slice.
type containers struct {
	shallow [shallowDepth]byte
	deep    []byte
	n       int
}

const shallowDepth = 32

func (c *containers) len() int { return c.n }

func (c *containers) push(b byte) {
	if c.n < shallowDepth {
		c.shallow[c.n] = b
	} else {
		c.deep = append(c.deep[:c.n-shallowDepth], b)
	}
	c.n++
}

func (c *containers) pop() { c.n-- }

func (c *containers) top() byte {
	if c.n <= shallowDepth {
		return c.shallow[c.n-1]
	}
	return c.deep[c.n-1-shallowDepth]
}

// text validates b as one value with optional whitespace around it.
func (s *scanner) text() error {
	if err := s.value(); err != nil {
		return err
	}
	s.skipSpace()
	if s.i < len(s.b) {
		return s.invalid("after top-level value")
	}
	return nil
}

// errNotObject is a valid JSON text that is not an object.
var errNotObject = errors.New("body is not a JSON object")

// split validates b as one JSON object and calls add for each member with its key (quoted, as
// in b; unquoteKey reads it), the value's bytes, and whether the value is a string without a
// backslash escape, in order. Both are slices of b: nothing is copied.
func split(b []byte, add func(key, raw []byte, unescaped bool) error) error {
	s := scanner{b: b}
	s.skipSpace()
	if s.i >= len(b) || b[s.i] != '{' {
		if err := s.text(); err != nil {
			return err
		}
		return errNotObject
	}
	s.i++
	s.stack.push('{') // the object counts towards the depth limit
	s.skipSpace()
	if s.i < len(b) && b[s.i] == '}' {
		s.i++
		return s.end()
	}
	for {
		s.skipSpace()
		kstart := s.i
		kend, err := s.member()
		if err != nil {
			return err
		}
		key := b[kstart:kend]
		s.skipSpace()
		vstart := s.i
		s.escaped = false
		if err := s.value(); err != nil {
			return err
		}
		if err := add(key, b[vstart:s.i], b[vstart] == '"' && !s.escaped); err != nil {
			return err
		}
		s.skipSpace()
		if s.i >= len(b) {
			return s.eof()
		}
		switch b[s.i] {
		case ',':
			s.i++
		case '}':
			s.i++
			return s.end()
		default:
			return s.invalid("after object key:value pair")
		}
	}
}

// end checks that only whitespace follows the top-level value.
func (s *scanner) end() error {
	s.skipSpace()
	if s.i < len(s.b) {
		return s.invalid("after top-level value")
	}
	return nil
}

// value validates one value (whitespace before it skipped) and leaves i just past it. Nesting
// is followed with an explicit stack, not recursion, so depth costs no Go stack.
func (s *scanner) value() error {
	base := s.stack.len()
	for {
		s.skipSpace()
		if s.i >= len(s.b) {
			return s.eof()
		}
		switch c := s.b[s.i]; {
		case c == '{' || c == '[':
			if s.stack.len() >= maxDepth {
				return &SyntaxError{Offset: s.i, msg: "exceeded max depth"}
			}
			s.stack.push(c)
			s.i++
			s.skipSpace()
			if s.i < len(s.b) && s.b[s.i] == c+2 { // '{'+2 == '}', '['+2 == ']'
				s.i++
				s.stack.pop()
				break
			}
			if c == '{' {
				if _, err := s.member(); err != nil {
					return err
				}
			}
			continue
		case c == '"':
			if err := s.str(); err != nil {
				return err
			}
		case c == '-' || ('0' <= c && c <= '9'):
			if err := s.number(); err != nil {
				return err
			}
		case c == 't':
			if err := s.literal("true"); err != nil {
				return err
			}
		case c == 'f':
			if err := s.literal("false"); err != nil {
				return err
			}
		case c == 'n':
			if err := s.literal("null"); err != nil {
				return err
			}
		default:
			return s.invalid("looking for beginning of value")
		}
		// A value ended: close containers until one continues with another element.
		next, err := s.afterValue(base)
		if err != nil || !next {
			return err
		}
	}
}

// afterValue consumes what follows a complete value inside the containers above base: closing
// brackets, then a comma (and, in an object, the next key and colon). It reports whether
// another value follows; false means the value that value() started is complete.
func (s *scanner) afterValue(base int) (bool, error) {
	for s.stack.len() > base {
		s.skipSpace()
		if s.i >= len(s.b) {
			return false, s.eof()
		}
		top, c := s.stack.top(), s.b[s.i]
		switch {
		case c == ',':
			s.i++
			if top == '{' {
				s.skipSpace()
				if _, err := s.member(); err != nil {
					return false, err
				}
			}
			return true, nil
		case c == top+2:
			s.i++
			s.stack.pop()
		case top == '{':
			return false, s.invalid("after object key:value pair")
		default:
			return false, s.invalid("after array element")
		}
	}
	return false, nil
}

// member validates an object key and its colon, and returns where the key's closing quote
// ends; i is left at the value.
func (s *scanner) member() (keyEnd int, err error) {
	if s.i >= len(s.b) {
		return 0, s.eof()
	}
	if s.b[s.i] != '"' {
		return 0, s.invalid("looking for beginning of object key string")
	}
	if err := s.str(); err != nil {
		return 0, err
	}
	keyEnd = s.i
	s.skipSpace()
	if s.i >= len(s.b) {
		return 0, s.eof()
	}
	if s.b[s.i] != ':' {
		return 0, s.invalid("after object key")
	}
	s.i++
	return keyEnd, nil
}

// stringStop marks the bytes that end the fast loop inside a string: the closing quote, a
// backslash, and the control characters JSON forbids unescaped.
var stringStop = func() (t [256]bool) {
	for c := range 0x20 {
		t[c] = true
	}
	t['"'], t['\\'] = true, true
	return t
}()

const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

// wordMayStop reports whether one of x's eight bytes may be a stringStop byte: a quote, a
// backslash or a control character. (v - lsb) &^ v & msb is non-zero exactly when some byte of
// v is zero (a borrow only starts at a zero byte); x - 0x20*lsb likewise finds a byte below
// 0x20. A false "may" only sends the scan to the byte loop; a false "no" cannot happen.
func wordMayStop(x uint64) bool {
	q, bs := x^('"'*lsb), x^('\\'*lsb)
	return ((q-lsb)&^q|(bs-lsb)&^bs|(x-0x20*lsb)&^x)&msb != 0
}

// str validates the string starting at b[i] == '"'.
func (s *scanner) str() error {
	b, j := s.b, s.i+1
	for {
		// Eight bytes at a time while none can stop the string (4 KiB fields are the usual
		// body), then byte by byte from the word that may hold one.
		for j+8 <= len(b) && !wordMayStop(binary.LittleEndian.Uint64(b[j:])) {
			j += 8
		}
		for j < len(b) && !stringStop[b[j]] {
			j++
		}
		if j >= len(b) {
			s.i = j
			return s.eof()
		}
		switch b[j] {
		case '"':
			s.i = j + 1
			return nil
		case '\\':
			s.escaped = true
			if j+1 >= len(b) {
				s.i = len(b)
				return s.eof()
			}
			switch b[j+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				j += 2
			case 'u':
				for k := j + 2; k < j+6; k++ {
					if k >= len(b) {
						s.i = len(b)
						return s.eof()
					}
					if !isHex(b[k]) {
						s.i = k
						return s.invalid("in \\u hexadecimal character escape")
					}
				}
				j += 6
			default:
				s.i = j + 1
				return s.invalid("in string escape code")
			}
		default:
			s.i = j
			return s.invalid("in string literal")
		}
	}
}

// number validates -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? at i.
func (s *scanner) number() error {
	if s.b[s.i] == '-' {
		s.i++
	}
	switch {
	case s.i >= len(s.b):
		return s.eof()
	case s.b[s.i] == '0':
		s.i++
	case '1' <= s.b[s.i] && s.b[s.i] <= '9':
		s.digits()
	default:
		return s.invalid("in numeric literal")
	}
	if s.i < len(s.b) && s.b[s.i] == '.' {
		s.i++
		if err := s.someDigits("after decimal point in numeric literal"); err != nil {
			return err
		}
	}
	if s.i < len(s.b) && (s.b[s.i] == 'e' || s.b[s.i] == 'E') {
		s.i++
		if s.i < len(s.b) && (s.b[s.i] == '+' || s.b[s.i] == '-') {
			s.i++
		}
		if err := s.someDigits("in exponent of numeric literal"); err != nil {
			return err
		}
	}
	return nil
}

func (s *scanner) someDigits(context string) error {
	if s.i >= len(s.b) {
		return s.eof()
	}
	if s.b[s.i] < '0' || s.b[s.i] > '9' {
		return s.invalid(context)
	}
	s.digits()
	return nil
}

func (s *scanner) digits() {
	for s.i < len(s.b) && '0' <= s.b[s.i] && s.b[s.i] <= '9' {
		s.i++
	}
}

func (s *scanner) literal(word string) error {
	for k := 0; k < len(word); k++ {
		if s.i >= len(s.b) {
			return s.eof()
		}
		if s.b[s.i] != word[k] {
			return s.invalid("in literal " + word + " (expecting " + quoteChar(word[k]) + ")")
		}
		s.i++
	}
	return nil
}

func (s *scanner) skipSpace() {
	for s.i < len(s.b) && isSpace(s.b[s.i]) {
		s.i++
	}
}

func (s *scanner) eof() error {
	return &SyntaxError{Offset: len(s.b), msg: "unexpected end of JSON input"}
}

func (s *scanner) invalid(context string) error {
	return &SyntaxError{Offset: s.i, msg: "invalid character " + quoteChar(s.b[s.i]) + " " + context}
}

// quoteChar formats c as encoding/json's errors do.
func quoteChar(c byte) string {
	switch {
	case c == '\'':
		return `'\''`
	case c == '"':
		return `'"'`
	case c >= 0x20 && c < 0x7f:
		return "'" + string(c) + "'"
	}
	s := strconv.Quote(string(rune(c)))
	return "'" + s[1:len(s)-1] + "'"
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unquoteKey(q []byte) (string, error) {
	if !hasEscape(q) {
		return string(q[1 : len(q)-1]), nil
	}
	var s string
	if err := json.Unmarshal(q, &s); err != nil {
		return "", fmt.Errorf("body key %s: %w", q, err)
	}
	return s, nil
}

func hasEscape(q []byte) bool {
	for _, c := range q {
		if c == '\\' {
			return true
		}
	}
	return false
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }
