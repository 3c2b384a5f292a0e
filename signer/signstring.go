package signer

import (
	"sort"
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
	type pair struct{ k, v string }
	pairs := make([]pair, 0, o.Len())
	size := 0
	for _, k := range o.Keys() {
		if k == "sign" {
			continue
		}
		v, _ := fieldText(o, k) // each value's text once: it is the costly part
		if v == "" {
			continue
		}
		pairs = append(pairs, pair{k, v})
		size += len(k) + len(v) + 2
	}
	sort.Slice(pairs, func(i, j int) bool { return pairs[i].k < pairs[j].k })
	var b strings.Builder
	b.Grow(size)
	for i, p := range pairs {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(p.k)
		b.WriteByte('=')
		b.WriteString(p.v)
	}
	return b.String()
}
