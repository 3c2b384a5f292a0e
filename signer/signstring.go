package signer

import (
	"slices"
	"sort"

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
	return string(appendSortedSignString(nil, o))
}

// appendSortedSignString appends the sign string to dst, growing it once.
func appendSortedSignString(dst []byte, o *jsonbody.Object) []byte {
	pairs, size := sortedSignPairs(o)
	dst = slices.Grow(dst, size)
	for i, p := range pairs {
		if i > 0 {
			dst = append(dst, '&')
		}
		dst = append(dst, p.k...)
		dst = append(dst, '=')
		dst = append(dst, p.v...)
	}
	return dst
}

// signPair is one key=value of the sign string; v may alias the body and must only be read.
type signPair struct {
	k string
	v []byte
}

// sortedSignPairs returns the sign string's pairs in order and the string's length. Values are
// read once and not copied: a 4 KiB field is the costly part of the article's signing.
func sortedSignPairs(o *jsonbody.Object) ([]signPair, int) {
	pairs := make([]signPair, 0, o.Len())
	size := 0
	for _, k := range o.Keys() {
		if k == "sign" {
			continue
		}
		raw, _ := o.Raw(k)
		v := textBytes(raw)
		if len(v) == 0 {
			continue
		}
		pairs = append(pairs, signPair{k, v})
		size += len(k) + len(v) + 2
	}
	sort.Slice(pairs, func(i, j int) bool { return pairs[i].k < pairs[j].k })
	return pairs, size
}
