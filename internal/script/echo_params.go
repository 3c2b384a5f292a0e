package script

import (
	"cmp"
	"slices"
	"strings"
	"unsafe"
)

// repeatedParams are the values of a query (or a form body) without their names, joined by
// commas, in the order sent and in the order of their names' indexes (order[1] after
// order[0]), as they are (escapes undone by addTexts). Express, among others, reads a repeated
// parameter (order, order[], order[0], %6Frder) as a list whose text is its values joined by
// commas, which a lenient base64 decoder skips: a ciphertext split over them came back whole.
// Values of different parameters are joined too: the check then refuses more, never less.
func (v *echoViews) repeatedParams(query string) [][]byte {
	type param struct {
		base  string
		index int
		value string
	}
	n := strings.Count(query, "&") + strings.Count(query, ";") + 1
	if n < 2 || !v.spend(n*int(unsafe.Sizeof(param{}))) { // a hostile form of 500k empty fields
		return nil
	}
	ps := make([]param, 0, n)
	for rest := query; rest != ""; {
		kv := rest
		if i := strings.IndexAny(rest, "&;"); i >= 0 {
			kv, rest = rest[:i], rest[i+1:]
		} else {
			rest = ""
		}
		if kv == "" {
			continue
		}
		k, val, _ := strings.Cut(kv, "=")
		if strings.ContainsAny(k, "%+\\") {
			k = string(unescaped(formDecoded([]byte(k))))
		}
		base, idx, _ := strings.Cut(k, "[")
		ps = append(ps, param{base, digits(strings.TrimSuffix(idx, "]")), val})
	}
	if len(ps) < 2 {
		return nil
	}
	join := func() []byte {
		var b []byte
		for i, p := range ps {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, p.value...)
		}
		return b
	}
	out := [][]byte{join()}
	slices.SortStableFunc(ps, func(a, b param) int {
		return cmp.Or(strings.Compare(a.base, b.base), cmp.Compare(a.index, b.index))
	})
	return append(out, join())
}

// digits is s as a number when it is one of up to 9 digits, else 0.
func digits(s string) int {
	if len(s) == 0 || len(s) > 9 {
		return 0
	}
	n := 0
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return 0
		}
		n = n*10 + int(c-'0')
	}
	return n
}

// joinedLen is the length of vs joined by ", ", as a recipient may combine a header's repeated
// lines into one value (RFC 9110 5.3): a ciphertext split over them comes back whole.
func joinedLen(vs []string) int {
	n := 2 * (len(vs) - 1)
	for _, v := range vs {
		n += len(v)
	}
	return n
}
