package script

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// TestForEachEncodingOffersEveryForm: the forms a provider's ciphertext may take in a JSON
// string are offered whole and quoted, each once, in hex (both cases) and base64 (std and URL,
// padded or not, the slash escaped or not), and the search stops at the first accepted.
func TestForEachEncodingOffersEveryForm(t *testing.T) {
	ct := []byte{0xff, 0xff, 0xfe, 0x01, 0x02} // base64 with '/' and '_', padding
	var got []string
	buf := make([]byte, 0, 2+2*len(ct)) // the room providerCiphertext lends
	if forEachEncoding(buf, ct, func(q []byte) bool { got = append(got, string(q)); return false }) {
		t.Fatal("accepted with every form refused")
	}
	q := func(s string) string { return `"` + s + `"` }
	std, raw := base64.StdEncoding.EncodeToString(ct), base64.RawStdEncoding.EncodeToString(ct)
	want := []string{
		q(std), q(strings.ReplaceAll(std, "/", `\/`)),
		q(raw), q(strings.ReplaceAll(raw, "/", `\/`)),
		q(base64.URLEncoding.EncodeToString(ct)), q(base64.RawURLEncoding.EncodeToString(ct)),
		q(hex.EncodeToString(ct)), q(strings.ToUpper(hex.EncodeToString(ct))),
	}
	if !slices.Equal(got, want) {
		t.Fatalf("forms\n got %q\nwant %q", got, want)
	}
	for i, form := range want {
		n := 0
		if !forEachEncoding(buf, ct, func(q []byte) bool { n++; return string(q) == form }) || n != i+1 {
			t.Errorf("%s: accepted %v after %d offers, want after %d", form, n == i+1, n, i+1)
		}
	}
}

// TestContainsIsBytesContains: the long-needle search answers as bytes.Contains does: needles
// at, around and beyond its prefix's length, found at the start, the end, after false starts
// that share the prefix (more than it tries before handing over to bytes.Contains), or absent
// by one byte.
func TestContainsIsBytesContains(t *testing.T) {
	check := func(hay, needle []byte) {
		t.Helper()
		if got, want := contains(hay, needle), bytes.Contains(hay, needle); got != want {
			t.Fatalf("contains(%q, %q) = %v, bytes.Contains says %v", hay, needle, got, want)
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 3000 {
		n := []int{1, 31, 32, 33, 63, 64, 65, 100, 300}[rng.IntN(9)]
		needle := make([]byte, n)
		for i := range needle {
			needle[i] = "ab\"/"[rng.IntN(4)]
		}
		var hay []byte
		for range rng.IntN(14) {
			switch rng.IntN(4) {
			case 0: // a false start: the needle with one byte changed, often past the prefix
				f := slices.Clone(needle)
				f[rng.IntN(n)] = 'z'
				hay = append(hay, f...)
			case 1:
				hay = append(hay, needle[:rng.IntN(n)]...)
			case 2:
				hay = append(hay, "\"x\":"...)
			default:
				if rng.IntN(6) == 0 {
					hay = append(hay, needle...)
				}
			}
		}
		check(hay, needle)
	}
	// Overlapping starts: the match begins one byte after a false start.
	for k := range 120 {
		check([]byte(strings.Repeat("a", k)+"b"), []byte(strings.Repeat("a", 80)+"b"))
	}
	// More false starts than it tries, then the needle (or not).
	p := strings.Repeat("Qm9v/", 14)
	for starts := range 20 {
		hay := strings.Repeat(p+"y-not-it\"", starts)
		check([]byte(hay+`"`+p+`x-the-one"`), []byte(`"`+p+`x-the-one"`))
		check([]byte(hay), []byte(`"`+p+`x-the-one"`))
	}
}
