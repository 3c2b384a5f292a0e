package script

import (
	"encoding/base64"
	"encoding/hex"
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
