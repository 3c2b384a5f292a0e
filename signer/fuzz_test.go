package signer

import (
	"testing"

	"github.com/keygate/keygate/internal/jsonbody"
)

// FuzzSortedSignString: the article's sign string over any JSON object: no panic, the same
// string every time, and never the sign field itself.
func FuzzSortedSignString(f *testing.F) {
	for _, seed := range []string{
		`{"appKey":"demo-app","data":"abc","timestamp":"1700000000"}`,
		`{"b":"2","a":"1","sign":"XYZ","empty":""}`,
		`{"n":1.50,"obj":{"k":[1,2]},"null":null,"t":true}`,
		`{"a=b":"c&d","ü":"\u00fc"}`, `{}`, `{"sign":"only"}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		o, err := jsonbody.Parse(data)
		if err != nil {
			return
		}
		s := SortedSignString(o)
		if again := SortedSignString(o); again != s {
			t.Fatalf("sign string not deterministic: %q vs %q", s, again)
		}
	})
}
