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
	"strings"
	"unicode/utf8"
)

// Object is a JSON object with its key order. Not safe for concurrent use.
type Object struct {
	keys []string
	vals map[string]json.RawMessage
}

// New returns an empty object.
func New() *Object { return &Object{vals: map[string]json.RawMessage{}} }

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
	o := New()
	err := split(b, func(key string, raw []byte) error {
		if _, dup := o.vals[key]; dup {
			return fmt.Errorf("body has the key %q twice", key)
		}
		o.keys = append(o.keys, key)
		o.vals[key] = compactNested(raw)
		return nil
	})
	var syntax *SyntaxError
	if errors.As(err, &syntax) {
		return nil, fmt.Errorf("body is not valid JSON: %w", err)
	}
	if err != nil {
		return nil, err
	}
	return o, nil
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

// Keys returns the keys in order. The slice must not be modified.
func (o *Object) Keys() []string { return o.keys }

// Len is the number of keys.
func (o *Object) Len() int { return len(o.keys) }

// Raw returns the JSON text of a value.
func (o *Object) Raw(key string) (json.RawMessage, bool) {
	v, ok := o.vals[key]
	return v, ok
}

// Text returns a value as signing strings use it: a JSON string unquoted, null as "", and any
// other value (number, bool, object, array) as its compact JSON text.
func (o *Object) Text(key string) (string, bool) {
	raw, ok := o.vals[key]
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
		o.SetRaw(key, append(raw, '"'))
		return
	}
	raw, _ := json.Marshal(s) // a string always marshals
	o.SetRaw(key, raw)
}

// marshalsVerbatim reports whether json.Marshal writes s as its bytes between quotes: no
// quote, backslash or control character, none of the HTML characters it escapes (<, >, &),
// valid UTF-8, and no U+2028 or U+2029 (which it escapes too).
func marshalsVerbatim(s string) bool {
	ascii := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if stringStop[c] || c == '<' || c == '>' || c == '&' {
			return false
		}
		ascii = ascii && c < utf8.RuneSelf
	}
	return ascii || utf8.ValidString(s) && !strings.ContainsRune(s, '\u2028') && !strings.ContainsRune(s, '\u2029')
}

// SetRaw sets key to raw, which must be valid JSON.
func (o *Object) SetRaw(key string, raw json.RawMessage) {
	if _, ok := o.vals[key]; !ok {
		o.keys = append(o.keys, key)
	}
	o.vals[key] = raw
}

// Delete removes key.
func (o *Object) Delete(key string) {
	if _, ok := o.vals[key]; !ok {
		return
	}
	delete(o.vals, key)
	for i, k := range o.keys {
		if k == key {
			o.keys = append(o.keys[:i:i], o.keys[i+1:]...)
			break
		}
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
		dst = append(dst, o.vals[k]...)
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
