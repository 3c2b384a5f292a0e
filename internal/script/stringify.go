package script

import (
	"math"
	"reflect"
	"strconv"
	"strings"

	"github.com/dop251/goja"
)

// stringifyBody is JSON.stringify(v) for the response body object, with the common case done
// in Go: an object whose members are all strings, numbers, booleans or null. goja quotes a
// string one UTF-16 unit at a time, and the decrypted data field made that the largest single
// cost of the article's response function.
//
// The members are read once, in order, as JSON.stringify reads them. When one is not a
// primitive (a nested object, a function), the values already read are put in a fresh plain
// object for goja to stringify, so no getter runs twice. A body with a toJSON takes goja's
// stringify as is.
func (st *callState) stringifyBody(v goja.Value) string {
	o, ok := v.(*goja.Object)
	if !ok {
		return st.stringify(v)
	}
	if toJSON := o.Get("toJSON"); toJSON != nil && !goja.IsUndefined(toJSON) { // nil: no such property
		return st.stringify(v)
	}
	keys := o.Keys()
	for _, k := range keys {
		if strings.ContainsRune(k, '\uFFFD') { // maybe a lone surrogate, lost in Go: goja's way
			return st.stringify(v)
		}
	}
	vals := make([]goja.Value, len(keys))
	flat := true
	for i, k := range keys {
		vals[i] = o.Get(k)
		flat = flat && jsonPrimitive(vals[i])
	}
	if !flat {
		read := st.rt.NewObject()
		for i, k := range keys {
			_ = read.DefineDataProperty(k, vals[i], goja.FLAG_TRUE, goja.FLAG_TRUE, goja.FLAG_TRUE)
		}
		return st.stringify(read)
	}
	var b strings.Builder
	b.WriteByte('{')
	first := true
	for i, k := range keys {
		if goja.IsUndefined(vals[i]) {
			continue // JSON.stringify leaves undefined members out
		}
		if !first {
			b.WriteByte(',')
		}
		first = false
		quoteJS(&b, k)
		b.WriteByte(':')
		writePrimitive(&b, vals[i])
	}
	b.WriteByte('}')
	return b.String()
}

var (
	typeString  = reflect.TypeFor[string]()
	typeInt64   = reflect.TypeFor[int64]()
	typeFloat64 = reflect.TypeFor[float64]()
	typeBool    = reflect.TypeFor[bool]()
)

// jsonPrimitive reports whether stringifyBody writes v itself: undefined, null, a boolean, a
// number, or a string that converts to Go without loss (a lone surrogate would become U+FFFD,
// so any U+FFFD sends the body to goja).
func jsonPrimitive(v goja.Value) bool {
	if goja.IsUndefined(v) || goja.IsNull(v) {
		return true
	}
	if _, isObject := v.(*goja.Object); isObject {
		return false
	}
	switch v.ExportType() {
	case typeBool, typeInt64, typeFloat64:
		return true
	case typeString:
		return !strings.ContainsRune(v.String(), '\uFFFD')
	}
	return false // symbols, BigInt: goja decides (omits, throws)
}

func writePrimitive(b *strings.Builder, v goja.Value) {
	switch {
	case goja.IsNull(v):
		b.WriteString("null")
	case v.ExportType() == typeString:
		quoteJS(b, v.String())
	case v.ExportType() == typeBool:
		b.WriteString(strconv.FormatBool(v.ToBoolean()))
	default: // a number
		if f := v.ToFloat(); math.IsNaN(f) || math.IsInf(f, 0) {
			b.WriteString("null")
		} else {
			b.WriteString(v.String()) // JavaScript's Number::toString
		}
	}
}

// quoteJS writes s as JSON.stringify quotes it: '"' and '\' escaped, the five short escapes,
// other control characters as \u00xx (lower-case hex), everything else as is.
func quoteJS(b *strings.Builder, s string) {
	const hex = "0123456789abcdef"
	b.WriteByte('"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		b.WriteString(s[start:i])
		switch c {
		case '"', '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case '\b':
			b.WriteString(`\b`)
		case '\t':
			b.WriteString(`\t`)
		case '\n':
			b.WriteString(`\n`)
		case '\f':
			b.WriteString(`\f`)
		case '\r':
			b.WriteString(`\r`)
		default:
			b.WriteString(`\u00`)
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&0xF])
		}
		start = i + 1
	}
	b.WriteString(s[start:])
	b.WriteByte('"')
}
