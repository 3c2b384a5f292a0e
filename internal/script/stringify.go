package script

import (
	"bytes"
	"math"
	"reflect"
	"strconv"
	"strings"

	"github.com/dop251/goja"
)

// bodyJSON is JSON.stringify(v) for the response body object, with the common case done in
// Go: an object whose members are all strings, numbers, booleans or null. goja quotes a string
// one UTF-16 unit at a time, and the decrypted data field made that the largest single cost of
// the article's response function. Go writes bytes, sized first: they become the new body as
// they are (a string would be copied into it).
//
// The members are read once, in order, as JSON.stringify reads them. When one is not a
// primitive (a nested object, a function), the values already read are put in a fresh plain
// object for goja to stringify, so no getter runs twice. A body with a toJSON takes goja's
// stringify as is.
func (st *callState) bodyJSON(v goja.Value) jsonText {
	o, ok := v.(*goja.Object)
	if !ok {
		return jsonText{s: st.stringify(v)}
	}
	if toJSON := o.Get("toJSON"); toJSON != nil && !goja.IsUndefined(toJSON) { // nil: no such property
		return jsonText{s: st.stringify(v)}
	}
	keys := o.Keys()
	for _, k := range keys {
		if strings.ContainsRune(k, '\uFFFD') { // maybe a lone surrogate, lost in Go: goja's way
			return jsonText{s: st.stringify(v)}
		}
	}
	vals := make([]goja.Value, len(keys))
	flat, size := true, 2
	for i, k := range keys {
		vals[i] = o.Get(k)
		n, ok := jsonPrimitive(vals[i])
		flat = flat && ok
		size += len(k) + 4 + n
	}
	if !flat {
		read := st.rt.NewObject()
		for i, k := range keys {
			_ = read.DefineDataProperty(k, vals[i], goja.FLAG_TRUE, goja.FLAG_TRUE, goja.FLAG_TRUE)
		}
		return jsonText{s: st.stringify(read)}
	}
	b := make([]byte, 0, size) // escapes may grow it
	b = append(b, '{')
	first := true
	for i, k := range keys {
		if goja.IsUndefined(vals[i]) {
			continue // JSON.stringify leaves undefined members out
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = appendQuoteJS(b, k)
		b = append(b, ':')
		b = appendPrimitive(b, vals[i])
	}
	return jsonText{b: append(b, '}'), inGo: true}
}

// jsonText is a body's JSON as bodyJSON wrote it: bytes when Go wrote it, goja's string
// otherwise; neither is converted unless it becomes the body.
type jsonText struct {
	b    []byte
	s    string
	inGo bool
}

// String is the text as a string (a copy when Go wrote it).
func (j jsonText) String() string {
	if j.inGo {
		return string(j.b)
	}
	return j.s
}

// bytes is the text as bytes for the body (a copy when goja wrote it).
func (j jsonText) bytes() []byte {
	if j.inGo {
		return j.b
	}
	return []byte(j.s)
}

// equal reports whether the text is b.
func (j jsonText) equal(b []byte) bool {
	if j.inGo {
		return string(j.b) == string(b)
	}
	return j.s == string(b)
}

// same reports whether two texts are equal, however each was written.
func (j jsonText) same(o jsonText) bool {
	if o.inGo {
		return j.equal(o.b)
	}
	if j.inGo {
		return string(j.b) == o.s
	}
	return j.s == o.s
}

// hasMarker is hasMarker of the text.
func (j jsonText) hasMarker() bool {
	if j.inGo {
		return bytes.ContainsRune(j.b, markOpen) || bytes.ContainsRune(j.b, markClose)
	}
	return hasMarker(j.s)
}

var (
	typeString  = reflect.TypeFor[string]()
	typeInt64   = reflect.TypeFor[int64]()
	typeFloat64 = reflect.TypeFor[float64]()
	typeBool    = reflect.TypeFor[bool]()
)

// jsonPrimitive reports whether bodyJSON writes v itself: undefined, null, a boolean, a
// number, or a string that converts to Go without loss (a lone surrogate would become U+FFFD,
// so any U+FFFD sends the body to goja); n is about the bytes it takes (a string's, unescaped).
func jsonPrimitive(v goja.Value) (n int, ok bool) {
	if goja.IsUndefined(v) || goja.IsNull(v) {
		return 4, true
	}
	if _, isObject := v.(*goja.Object); isObject {
		return 0, false
	}
	switch v.ExportType() {
	case typeBool, typeInt64, typeFloat64:
		return 24, true
	case typeString:
		s := v.String()
		return len(s) + 2, !strings.ContainsRune(s, '\uFFFD')
	}
	return 0, false // symbols, BigInt: goja decides (omits, throws)
}

func appendPrimitive(b []byte, v goja.Value) []byte {
	switch {
	case goja.IsNull(v):
		return append(b, "null"...)
	case v.ExportType() == typeString:
		return appendQuoteJS(b, v.String())
	case v.ExportType() == typeBool:
		return strconv.AppendBool(b, v.ToBoolean())
	default: // a number
		if f := v.ToFloat(); math.IsNaN(f) || math.IsInf(f, 0) {
			return append(b, "null"...)
		}
		return append(b, v.String()...) // JavaScript's Number::toString
	}
}

// appendQuoteJS appends s as JSON.stringify quotes it: '"' and '\' escaped, the five short
// escapes, other control characters as \u00xx (lower-case hex), everything else as is.
func appendQuoteJS(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\b':
			b = append(b, `\b`...)
		case '\t':
			b = append(b, `\t`...)
		case '\n':
			b = append(b, `\n`...)
		case '\f':
			b = append(b, `\f`...)
		case '\r':
			b = append(b, `\r`...)
		default:
			b = append(b, `\u00`...)
			b = append(b, hex[c>>4], hex[c&0xF])
		}
		start = i + 1
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
