package script

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/keygate/keygate/signer"

	"github.com/dop251/goja"
)

// installEncoding defines the encoders, sorting helpers and uuid/nonce/now. Encoders refuse
// secret handles: an encoded marker would slip past the output checks.
func (st *callState) installEncoding(g *goja.Object) {
	encoders := map[string]func([]byte) string{
		"base64_encode":    base64.StdEncoding.EncodeToString,
		"base64url_encode": base64.RawURLEncoding.EncodeToString,
		"hex_encode":       hex.EncodeToString,
		"url_encode":       func(b []byte) string { return signer.URIEncode(string(b), true) },
	}
	for fn, enc := range encoders {
		_ = g.Set(fn, func(c goja.FunctionCall) goja.Value {
			b, origin, sec := st.encodeArg(fn, arg(c, 0))
			st.charge(2 * len(b))
			out := enc(b)
			wipe(b, sec)
			if sec {
				// An encoded sign string is still one: a handle, usable where its origin is.
				return st.derived(origin, roleSignString, 0, []byte(out))
			}
			return st.rt.ToValue(out)
		})
	}
	decoders := map[string]func(string) ([]byte, error){
		"base64_decode": func(s string) ([]byte, error) {
			if b, err := base64.StdEncoding.DecodeString(s); err == nil {
				return b, nil
			}
			return base64.RawStdEncoding.DecodeString(strings.TrimRight(s, "="))
		},
		"base64url_decode": func(s string) ([]byte, error) {
			return base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
		},
		"hex_decode": hex.DecodeString,
	}
	for fn, dec := range decoders {
		_ = g.Set(fn, func(c goja.FunctionCall) goja.Value {
			b, err := dec(st.plain(arg(c, 0), fn))
			if err != nil {
				st.typeError("%s: %v", fn, err)
			}
			st.charge(len(b))
			return st.bytesValue(b)
		})
	}
	_ = g.Set("form_encode", st.formEncode)
	_ = g.Set("sort_keys", func(c goja.FunctionCall) goja.Value {
		o, ok := arg(c, 0).(*goja.Object)
		if !ok {
			st.typeError("sort_keys: want an object")
		}
		keys := o.Keys()
		sort.Strings(keys)
		return st.rt.ToValue(keys)
	})
	_ = g.Set("sorted", func(c goja.FunctionCall) goja.Value {
		var items []string
		if err := st.rt.ExportTo(arg(c, 0), &items); err != nil {
			st.typeError("sorted: want an array of strings")
		}
		sort.Strings(items)
		return st.rt.ToValue(items)
	})
	_ = g.Set("uuid", func(goja.FunctionCall) goja.Value {
		var b [16]byte
		_, _ = rand.Read(b[:])
		b[6] = b[6]&0x0f | 0x40
		b[8] = b[8]&0x3f | 0x80
		return st.rt.ToValue(fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:]))
	})
	_ = g.Set("nonce", func(goja.FunctionCall) goja.Value {
		if st.x.Clock != nil {
			return st.rt.ToValue(st.x.Clock.Nonce())
		}
		var b [16]byte
		_, _ = rand.Read(b[:])
		return st.rt.ToValue(hex.EncodeToString(b[:]))
	})
	_ = g.Set("now", func(goja.FunctionCall) goja.Value { return st.rt.ToValue(st.now().UnixMilli()) })
}

// now is the exchange's clock (pinned by `keygate sign --time`); Date uses it too.
func (st *callState) now() time.Time {
	if st.x != nil && st.x.Clock != nil {
		return st.x.Clock.Now()
	}
	return time.Now()
}

// formEncode is form_encode(string | object): application/x-www-form-urlencoded, an object's
// pairs in its key order.
func (st *callState) formEncode(c goja.FunctionCall) goja.Value {
	v := arg(c, 0)
	o, ok := v.(*goja.Object)
	if !ok {
		return st.rt.ToValue(url.QueryEscape(st.plain(v, "form_encode")))
	}
	var b strings.Builder
	for i, k := range o.Keys() {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(url.QueryEscape(st.plain(st.rt.ToValue(k), "form_encode")))
		b.WriteByte('=')
		b.WriteString(url.QueryEscape(st.plain(o.Get(k), "form_encode")))
	}
	return st.rt.ToValue(b.String())
}
