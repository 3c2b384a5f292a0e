package signer

import (
	"crypto/sha256"
	"slices"
	"strings"

	"github.com/keygate/keygate/internal/jsonbody"
)

// SortedSignString builds the article's "simple signing" string from a JSON body:
//
//   - every top-level field except "sign", sorted by key in byte order;
//   - fields whose value is null or "" are left out;
//   - each as key=value, where value is the field's text (jsonbody.Text: a string unquoted and
//     unescaped, a number exactly as sent, a nested object or array as its compact JSON text);
//   - joined with "&", no URL-encoding.
//
// The AppSecret is appended directly after the last pair, with no separator, by the caller:
// sign = upper(hex(sha256(SortedSignString(body) + AppSecret))). The built-in `simple` scheme and
// custom mode's reqBody.buildSignStr() both use this function, so they cannot disagree.
func SortedSignString(o *jsonbody.Object) string {
	return SortedSignStringThen(o, "")
}

// SortedSignStringThen is SortedSignString(o) + suffix, built in one allocation: custom
// mode's reqBody.buildSignStr() appends the secret's handle, and building the string, converting
// it and concatenating the handle copied a 4 KiB field three times (profiled).
func SortedSignStringThen(o *jsonbody.Object, suffix string) string {
	var buf [16]signPair
	pairs, size := sortedSignPairs(buf[:0], o)
	var b strings.Builder
	b.Grow(size + len(suffix))
	for i, p := range pairs {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(p.k)
		b.WriteByte('=')
		b.Write(p.v)
	}
	b.WriteString(suffix)
	return b.String()
}

// sumSortedSignString is sha256(SortedSignString(o) + suffix) without building the string:
// the small pieces go through a buffer on the stack, a long value (the 4 KiB data field)
// straight from the body. The bytes hashed are exactly appendSortedSignString's. The hash is
// its own (not a hash.Hash passed in): with the concrete digest known, neither it nor the
// buffer moves to the heap (two allocations per request, profiled).
func sumSortedSignString(o *jsonbody.Object, suffix []byte) [sha256.Size]byte {
	var buf [16]signPair
	pairs, _ := sortedSignPairs(buf[:0], o)
	h := sha256.New()
	var small [256]byte
	b := small[:0]
	for i, p := range pairs {
		// '&' (not before the first pair), key and '=' are small: buffered (a key longer than
		// the buffer is written on its own).
		if len(b)+len(p.k)+2 > cap(b) {
			h.Write(b)
			b = b[:0]
		}
		if i > 0 {
			b = append(b, '&')
		}
		if len(p.k)+1 > cap(b)-len(b) {
			h.Write(b)
			h.Write([]byte(p.k))
			b = b[:0]
		} else {
			b = append(b, p.k...)
		}
		b = append(b, '=')
		if len(p.v) > cap(b)-len(b) {
			h.Write(b)
			h.Write(p.v)
			b = b[:0]
			continue
		}
		b = append(b, p.v...)
	}
	h.Write(b)
	h.Write(suffix)
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	return sum
}

// signPair is one key=value of the sign string; v may alias the body and must only be read.
type signPair struct {
	k string
	v []byte
}

// sortedSignPairs appends the sign string's pairs to dst in order and returns them with the
// string's length. Values are read once and not copied: a 4 KiB field is the costly part of the
// article's signing.
func sortedSignPairs(dst []signPair, o *jsonbody.Object) ([]signPair, int) {
	pairs := dst
	size := 0
	for i := range o.Len() {
		k, raw, plain := o.Member(i)
		if k == "sign" {
			continue
		}
		v := memberText(raw, plain)
		if len(v) == 0 {
			continue
		}
		pairs = append(pairs, signPair{k, v})
		size += len(k) + len(v) + 2
	}
	slices.SortFunc(pairs, func(a, b signPair) int { return strings.Compare(a.k, b.k) })
	return pairs, size
}
