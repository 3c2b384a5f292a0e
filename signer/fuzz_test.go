package signer

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"strings"
	"testing"

	"github.com/keygate/keygate/internal/jsonbody"
)

// FuzzSortedSignString: the article's sign string over any JSON object: no panic, the same
// string every time, and what the simple step hashes (without building it) is exactly it.
func FuzzSortedSignString(f *testing.F) {
	many := `{`
	for i := range 40 {
		many += fmt.Sprintf(`"k%02d":"%s",`, i, strings.Repeat("v", i*9))
	}
	many += `"last":1}`
	for _, seed := range []string{
		many, `{"` + strings.Repeat("k", 300) + `":"v","a":"` + strings.Repeat("w", 250) + `","b":"x"}`,
		`{"` + strings.Repeat("k", 254) + `":"v","b":"` + strings.Repeat("y", 255) + `"}`,
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
		h := sha256.New()
		hashSortedSignString(h, o)
		if want := sha256.Sum256([]byte(s)); !bytes.Equal(h.Sum(nil), want[:]) {
			t.Fatalf("hashSortedSignString differs from the hash of SortedSignString %q", s)
		}
	})
}
