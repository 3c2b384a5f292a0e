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
	keys := make([]string, 0, o.Len())
	for _, k := range o.Keys() {
		if k == "sign" {
			continue
		}
		if v, _ := o.Text(k); v == "" {
			continue
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte('&')
		}
		v, _ := o.Text(k)
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(v)
	}
	return b.String()
}
