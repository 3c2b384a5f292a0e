package script

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	mrand "math/rand/v2"
	"net/url"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/keygate/keygate/signer"

	"github.com/dop251/goja"
)

// installEncoding defines the encoders, sorting helpers and uuid/nonce/now. Encoders refuse
// secret handles: an encoded marker would slip past the output checks.
func (st *callState) installEncoding(g *goja.Object) {
	encoders := map[string]func([]byte) string{
		"base64_encode":    func(b []byte) string { return st.encodeString(base64.StdEncoding, b) },
		"base64url_encode": func(b []byte) string { return st.encodeString(base64.RawURLEncoding, b) },
		"hex_encode":       func(b []byte) string { return st.encodeString(nil, b) },
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
	// Decoders of percent-encoding take plain text only: a handle (or an encoded sign string)
	// fails the request, so no decoder turns secret material back into text.
	for fn, dec := range map[string]func(string) (string, error){"url_decode": url.PathUnescape, "form_decode": url.QueryUnescape} {
		_ = g.Set(fn, func(c goja.FunctionCall) goja.Value {
			out, err := dec(st.plain(arg(c, 0), fn))
			if err != nil {
				st.typeError("%s: %v", fn, err)
			}
			if !utf8.ValidString(out) {
				st.typeError("%s: the decoded bytes are not UTF-8 text", fn)
			}
			st.charge(2 * len(out))
			return st.rt.ToValue(out)
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
	_ = g.Set("uuid", func(goja.FunctionCall) goja.Value { return st.rt.ToValue(uuidOf(st.nonce())) })
	_ = g.Set("nonce", func(goja.FunctionCall) goja.Value { return st.rt.ToValue(st.nonce()) })
	st.rt.SetRandSource(st.random)
	_ = g.Set("now", func(goja.FunctionCall) goja.Value { return st.rt.ToValue(st.now().UnixMilli()) })
}

// encodeString is enc's encoding of src (hex for nil) in one allocation, the string's own:
// EncodeToString encodes into a buffer and copies it into the string, and the article's
// base64 of a 4 KiB ciphertext was the script path's largest allocation, twice (profiled).
// It encodes through st.chunk in whole groups of 3 bytes, so base64 pads only at the end.
func (st *callState) encodeString(enc *base64.Encoding, src []byte) string {
	var b strings.Builder
	if enc == nil {
		b.Grow(hex.EncodedLen(len(src)))
	} else {
		b.Grow(enc.EncodedLen(len(src)))
	}
	for len(src) > 0 {
		var out []byte
		if enc == nil {
			n := min(len(src), len(st.chunk)/2)
			out = st.chunk[:hex.Encode(st.chunk[:], src[:n])]
			src = src[n:]
		} else {
			n := min(len(src), len(st.chunk)/4*3)
			out = st.chunk[:enc.EncodedLen(n)]
			enc.Encode(out, src[:n])
			src = src[n:]
		}
		b.Write(out)
	}
	clear(st.chunk[:]) // the input may be a sign string's secret
	return b.String()
}

// nonce is the exchange's nonce: 32 random hex characters, or what `keygate sign --nonce` pinned.
func (st *callState) nonce() string {
	if st.x != nil && st.x.Clock != nil {
		return st.x.Clock.Nonce()
	}
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// uuidOf turns a nonce into a UUID: a pinned nonce that is a UUID is kept as it is (a provider's
// published example names its nonce), 32 hex characters (the system clock's random nonce) become
// a version 4 UUID, anything else a version 4 UUID derived from its SHA-256, so that every
// uuid() of a dry run is pinned by --nonce.
func uuidOf(n string) string {
	if isUUID(n) {
		return n
	}
	b, err := hex.DecodeString(n)
	if err != nil || len(b) != 16 {
		sum := sha256.Sum256([]byte(n))
		b = sum[:16]
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case i == 8 || i == 13 || i == 18 || i == 23:
			if c != '-' {
				return false
			}
		case !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'):
			return false
		}
	}
	return true
}

// random is Math.random: a ChaCha8 stream per invocation, seeded from the exchange's nonce, so
// `keygate sign --nonce` pins it like every other random value a script can read.
func (st *callState) random() float64 {
	if st.rng == nil {
		seed := sha256.Sum256([]byte("keygate Math.random\x00" + st.nonce()))
		st.rng = mrand.NewChaCha8(seed)
	}
	return float64(st.rng.Uint64()>>11) / (1 << 53)
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
