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
	if !ok || (o.ClassName() != "ArrayBuffer" && o.Get("byteLength") == nil) {
		return nil, false // never Export an array: that copies every element
	}
	switch b := o.Export().(type) {
	case goja.ArrayBuffer:
		return b.Bytes(), true
	case []byte:
		return b, true
	}
	return nil, false
}

// bytesValue returns b to JavaScript as an ArrayBuffer.
func (st *callState) bytesValue(b []byte) goja.Value {
	return st.rt.ToValue(st.rt.NewArrayBuffer(b))
}

// wipe clears b when it held secret bytes.
func wipe(b []byte, secretUsed bool) {
	if secretUsed {
		if testHookWipe != nil {
			testHookWipe(b)
		}
		clear(b)
	}
}

// testHookWipe, set only by tests, sees each buffer wipe clears, before it is cleared.
var testHookWipe func([]byte)
