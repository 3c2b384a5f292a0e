package script

import (
	"github.com/dop251/goja"
)

// arg returns call argument i, or undefined.
func arg(c goja.FunctionCall, i int) goja.Value {
	if i < len(c.Arguments) {
		return c.Arguments[i]
	}
	return goja.Undefined()
}

func missing(v goja.Value) bool { return v == nil || goja.IsUndefined(v) || goja.IsNull(v) }

// binary returns the bytes of an ArrayBuffer or Uint8Array, or ok=false for other values.
func binary(v goja.Value) ([]byte, bool) {
	o, ok := v.(*goja.Object)
	if !ok {
		return nil, false
	}
	switch b := o.Export().(type) {
	case goja.ArrayBuffer:
		return b.Bytes(), true
	case []byte:
		return b, true
	}
	return nil, false
}

// bytesArg returns a crypto input: binary values as they are, anything else as its UTF-8 string
// with the markers of the allowed kinds replaced by secret bytes (allow 0: any marker violates
// sink). secretUsed says the caller must clear the bytes after use.
func (st *callState) bytesArg(fn string, v goja.Value, allow handleKind, sink string) (b []byte, secretUsed bool) {
	if missing(v) {
		st.typeError("%s: an argument is missing", fn)
	}
	if b, ok := binary(v); ok {
		return b, false
	}
	if _, isObj := v.(*goja.Object); isObj {
		st.typeError("%s: want a string, ArrayBuffer or Uint8Array", fn)
	}
	s := v.String()
	if allow == 0 {
		if hasMarker(s) {
			st.violate(sink)
		}
		return []byte(s), false
	}
	return st.reveal(s, allow, sink)
}

// plainBytes is bytesArg for inputs that must not hold secrets (encoders, cipher plaintext).
func (st *callState) plainBytes(fn string, v goja.Value, sink string) []byte {
	b, _ := st.bytesArg(fn, v, 0, sink)
	return b
}

// bytesValue returns b to JavaScript as an ArrayBuffer.
func (st *callState) bytesValue(b []byte) goja.Value {
	return st.rt.ToValue(st.rt.NewArrayBuffer(b))
}

// wipe clears b when it held secret bytes.
func wipe(b []byte, secretUsed bool) {
	if secretUsed {
		clear(b)
	}
}
