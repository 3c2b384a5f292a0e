// Package jsonbody is an ordered, lossless JSON object: the request and response bodies that
// signing steps and scripts read and change. Key order is kept as received (new keys go last),
// numbers keep their exact text, and a body is parsed once however many steps touch it.
package jsonbody

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// Object is a JSON object with its key order. Not safe for concurrent use.
//
// Bodies have a handful of keys, so the members are two parallel slices searched in order,
// with an index only past indexFrom keys: a parse costs a few allocations, not one per key
// (the map and the key strings were most of a 4 KiB body's parse).
type Object struct {
	keys  []string
	vals  []json.RawMessage
	index map[string]int // key -> position, nil while len(keys) <= indexFrom
	// plain has bit i set when vals[i] is known to be a JSON string that needs no unescaping
	// (PlainString's answer, known without scanning the value again): Parse saw it, or
	// SetString or SetPlainString set it. Bits of positions from 64 on are never set; a bit
	// at or past len(keys) is always clear.
	plain uint64
}

// indexFrom is the number of keys past which lookups go through a map.
const indexFrom = 16

// New returns an empty object.
func New() *Object { return &Object{} }

// Parse decodes b, which must hold exactly one JSON object. Duplicate keys are rejected: a
// signer and a provider that resolve them differently would disagree on what was signed. The
// values keep their exact bytes (numbers, escapes, the whitespace inside nested values) and
// share b's memory: b must not be modified while the object is in use.
func Parse(b []byte) (*Object, error) {
	if !utf8.Valid(b) {
		// RFC 8259 JSON is UTF-8. Invalid bytes would be read differently by different decoders:
		// the signer and the provider could disagree on what was signed.
		return nil, errors.New("body is not valid UTF-8")
	}
	// The keys' text is gathered in one buffer and becomes one string, which every key slices.
	type span struct{ from, to int }
	var (
		textBuf [256]byte
		spanBuf [indexFrom]span
		valBuf  [indexFrom]json.RawMessage
	)
	text, spans, vals := textBuf[:0], spanBuf[:0], valBuf[:0]
	var plain uint64
	err := split(b, func(qkey, raw []byte, unescaped bool) error {
		// The whole body is valid UTF-8 and a string holds no control character, so a string
		// without a backslash is its text between the quotes.
		if unescaped && len(vals) < 64 {
			plain |= 1 << len(vals)
		}
		from := len(text)
		if inner := qkey[1 : len(qkey)-1]; !hasEscape(inner) {
			text = append(text, inner...)
		} else {
			k, err := unquoteKey(qkey)
			if err != nil {
				return err
			}
			text = append(text, k...)
		}
		spans = append(spans, span{from, len(text)})
		vals = append(vals, compactNested(raw))
		return nil
	})
	if err != nil {
		return nil, parseError(err)
	}
	all := string(text)
	var o *Object
	if n := len(spans); n <= len(inlineObject{}.keys) {
		// The object and its members in one allocation, with room for the members a step adds
		// (an AppKey and a sign are two appends that would each move a slice to the heap).
		in := new(inlineObject)
		in.o.keys, in.o.vals = in.keys[:n], in.vals[:n]
		copy(in.o.vals, vals)
		o = &in.o
	} else {
		o = &Object{keys: make([]string, n), vals: slices.Clone(vals)}
	}
	for i, sp := range spans {
		o.keys[i] = all[sp.from:sp.to]
	}
	o.plain = plain
	if len(o.keys) > indexFrom {
		o.index = make(map[string]int, len(o.keys))
	}
	for i, k := range o.keys {
		dup := false
		if o.index != nil {
			_, dup = o.index[k]
			o.index[k] = i
		} else {
			dup = slices.Contains(o.keys[:i], k)
		}
		if dup {
			return nil, fmt.Errorf("body has the key %q twice", k)
		}
	}
	return o, nil
}

// inlineObject is an Object of a few members with their storage; an object that grows past it
// moves its members to the heap as any slice does.
type inlineObject struct {
	o    Object
	keys [8]string
	vals [8]json.RawMessage
}

// parseError says that a body is not JSON, or passes on what else split refused.
func parseError(err error) error {
	var syntax *SyntaxError
	if errors.As(err, &syntax) {
		return fmt.Errorf("body is not valid JSON: %w", err)
	}
	return err
}

// find returns key's position among the keys, or -1.
func (o *Object) find(key string) int {
	if o.index != nil {
		if i, ok := o.index[key]; ok {
			return i
		}
		return -1
	}
	for i, k := range o.keys {
		if k == key {
			return i
		}
	}
	return -1
}

// compactNested removes the whitespace inside an object or array value, once, at parse, so
// that serializing is a plain copy. Other values hold no whitespace outside their strings.
func compactNested(raw []byte) json.RawMessage {
	if len(raw) == 0 || (raw[0] != '{' && raw[0] != '[') || !bytes.ContainsAny(raw, " \t\n\r") {
		return raw
	}
	var buf bytes.Buffer
	if json.Compact(&buf, raw) != nil {
		return raw // unreachable: Parse validated the whole body
	}
	return buf.Bytes()
}

// Keys returns the keys in order. The slice must not be modified; it is capped at its length,
// so an append by the caller cannot reach the object's spare room.
func (o *Object) Keys() []string { return o.keys[:len(o.keys):len(o.keys)] }

// Len is the number of keys.
func (o *Object) Len() int { return len(o.keys) }

// Member is the i-th member: its key, its JSON text, and whether that text is known to be a
// JSON string that needs no unescaping (then PlainString would return raw[1:len(raw)-1]).
func (o *Object) Member(i int) (key string, raw json.RawMessage, plain bool) {
	return o.keys[i], o.vals[i], i < 64 && o.plain&(1<<i) != 0
}

// RawPlain is Raw with Member's plain.
func (o *Object) RawPlain(key string) (raw json.RawMessage, plain, ok bool) {
	i := o.find(key)
	if i < 0 {
		return nil, false, false
	}
	_, raw, plain = o.Member(i)
	return raw, plain, true
}

// Raw returns the JSON text of a value.
func (o *Object) Raw(key string) (json.RawMessage, bool) {
	if i := o.find(key); i >= 0 {
		return o.vals[i], true
	}
	return nil, false
}

// Text returns a value as signing strings use it: a JSON string unquoted, null as "", and any
// other value (number, bool, object, array) as its compact JSON text.
func (o *Object) Text(key string) (string, bool) {
	raw, ok := o.Raw(key)
	if !ok {
		return "", false
	}
	return TextOf(raw), true
}

// TextOf is Text for one raw value.
func TextOf(raw json.RawMessage) string {
	if inner, ok := PlainString(raw); ok {
		return string(inner)
	}
	switch {
	case len(raw) > 0 && raw[0] == '"':
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return s
		}
	case string(raw) == "null":
		return ""
	}
	var buf bytes.Buffer
	if json.Compact(&buf, raw) == nil {
		return buf.String()
	}
	return string(raw)
}

// PlainString returns the bytes between the quotes of a JSON string that needs no unescaping
// (no backslash, control character or invalid UTF-8): exactly what json.Unmarshal would give,
// without its cost. Bodies are mostly such strings.
func PlainString(raw json.RawMessage) ([]byte, bool) {
	n := len(raw)
	if n < 2 || raw[0] != '"' || raw[n-1] != '"' {
		return nil, false
	}
	inner := raw[1 : n-1]
	return inner, needsNoUnescaping(inner) && utf8.Valid(inner)
}

// needsNoUnescaping reports whether b holds no backslash, quote or control character. It runs
// over every 4 KiB data field several times per request, so it looks at 8 bytes at a time:
// IndexByte is vectorised, and (x - 0x20..20) &^ x & 0x80..80 is non-zero exactly when some
// byte of x is below 0x20 (a borrow only starts at such a byte).
func needsNoUnescaping(b []byte) bool {
	if bytes.IndexByte(b, '\\') >= 0 || bytes.IndexByte(b, '"') >= 0 {
		return false
	}
	for ; len(b) >= 8; b = b[8:] {
		if x := binary.LittleEndian.Uint64(b); (x-0x2020202020202020)&^x&0x8080808080808080 != 0 {
			return false
		}
	}
	for _, c := range b {
		if c < 0x20 {
			return false
		}
	}
	return true
}

// SetString sets key to the JSON string s, as json.Marshal writes it. A string json.Marshal
// would write between quotes unchanged (base64 and hex ciphertexts, signatures: most of what
// signing sets) is copied without its scan.
func (o *Object) SetString(key, s string) {
	if marshalsVerbatim(s) {
		raw := make([]byte, 0, len(s)+2)
		raw = append(raw, '"')
		raw = append(raw, s...)
		o.SetPlainString(key, append(raw, '"'))
		return
	}
	raw, _ := json.Marshal(s) // a string always marshals
	o.SetRaw(key, raw)
}

// marshalsVerbatim reports whether json.Marshal writes s as its bytes between quotes: no
// quote, backslash or control character, none of the HTML characters it escapes (<, >, &),
// valid UTF-8, and no U+2028 or U+2029 (which it escapes too).
func marshalsVerbatim(s string) bool {
	// The five refused ASCII characters by vectorised search, then eight bytes at a time while
	// no byte can be a control character or non-ASCII (a 4 KiB base64 field went byte by byte:
	// 3% of the script path's CPU, profiled); a word that may hold one, and the tail, take the
	// byte loop. The words skipped are ASCII.
	for _, c := range [...]byte{'"', '\\', '<', '>', '&'} {
		if strings.IndexByte(s, c) >= 0 {
			return false
		}
	}
	i := 0
	for ; i+8 <= len(s); i += 8 {
		x := uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
			uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
		if (x-0x20*lsb|x)&msb != 0 {
			break
		}
	}
	ascii := true
	for ; i < len(s); i++ {
		c := s[i]
		if stringStop[c] || c == '<' || c == '>' || c == '&' {
			return false
		}
		ascii = ascii && c < utf8.RuneSelf
	}
	return ascii || utf8.ValidString(s) && !strings.ContainsRune(s, '\u2028') && !strings.ContainsRune(s, '\u2029')
}

// SetRaw sets key to raw, which must be valid JSON.
func (o *Object) SetRaw(key string, raw json.RawMessage) { o.set(key, raw, false) }

// SetPlainString sets key to quoted, a JSON string the caller knows needs no unescaping (no
// backslash, control character or invalid UTF-8 between its quotes: base64 or hex text), so
// that PlainText reads it without a scan.
func (o *Object) SetPlainString(key string, quoted json.RawMessage) { o.set(key, quoted, true) }

func (o *Object) set(key string, raw json.RawMessage, plain bool) {
	i := o.find(key)
	if i >= 0 {
		o.vals[i] = raw
	} else {
		o.keys = append(o.keys, key)
		o.vals = append(o.vals, raw)
		i = len(o.keys) - 1
		switch {
		case o.index != nil:
			o.index[key] = i
		case len(o.keys) > indexFrom:
			o.reindex()
		}
	}
	if i < 64 {
		o.plain &^= 1 << i
		if plain {
			o.plain |= 1 << i
		}
	}
}

// Delete removes key. The key slice Keys returned before stays as it was.
func (o *Object) Delete(key string) {
	i := o.find(key)
	if i < 0 {
		return
	}
	o.keys = append(o.keys[:i:i], o.keys[i+1:]...)
	o.vals = append(o.vals[:i:i], o.vals[i+1:]...)
	if i < 64 { // the bits above i move down one
		low := uint64(1)<<i - 1
		o.plain = o.plain&low | o.plain>>1&^low
	}
	if o.index != nil {
		o.reindex()
	}
}

func (o *Object) reindex() {
	o.index = make(map[string]int, len(o.keys))
	for i, k := range o.keys {
		o.index[k] = i
	}
}

// AppendTo appends the JSON encoding of the object to dst: keys in order, no whitespace
// between members, each value's bytes exactly as received or set.
func (o *Object) AppendTo(dst []byte) []byte {
	dst = append(dst, '{')
	for i, k := range o.keys {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendKey(dst, k)
		dst = append(dst, ':')
		dst = append(dst, o.vals[i]...)
	}
	return append(dst, '}')
}

// appendKey writes k as a JSON string; plain keys (the usual case) skip encoding/json.
func appendKey(dst []byte, k string) []byte {
	for i := 0; i < len(k); i++ {
		if c := k[i]; c < 0x20 || c == '"' || c == '\\' || c >= 0x7f || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(k)
			return append(dst, q...)
		}
	}
	dst = append(dst, '"')
	dst = append(dst, k...)
	return append(dst, '"')
}

// Marshal returns the JSON encoding of the object.
func (o *Object) Marshal() []byte { return o.AppendTo(nil) }
