package gateway

import (
	"net/http"
	"strings"
	"testing"
)

// TestWellKnownHeaderNamesAreNetHTTPs: CanonicalKey is http.CanonicalHeaderKey and LowerName is
// string for every name, well-known or not, in any case; the well-known names are lower-case
// (what the ext_proc server and its lower-casing hold) and cost no allocation.
func TestWellKnownHeaderNamesAreNetHTTPs(t *testing.T) {
	names := []string{"", "-", "x", "x-request-idx", "x-request-i", "x_request_id", "x request id", "\xff", "ÄB", "x-é"}
	for _, name := range wellKnownHeaders {
		if name != strings.ToLower(name) || strings.ContainsFunc(name, func(r rune) bool { return r > 0x7f }) {
			t.Errorf("well-known name %q is not lower-case ASCII", name)
		}
		names = append(names, name, strings.ToUpper(name), http.CanonicalHeaderKey(name), name+" ", ":"+name)
	}
	for c := range 256 {
		names = append(names, string([]byte{byte(c)}), "x-"+string([]byte{byte(c)}))
	}
	for _, name := range names {
		if got, want := CanonicalKey(name), http.CanonicalHeaderKey(name); got != want {
			t.Errorf("CanonicalKey(%q) = %q, want %q", name, got, want)
		}
		if got := LowerName([]byte(name)); got != name {
			t.Errorf("LowerName(%q) = %q", name, got)
		}
	}
	buf := []byte("x-request-id")
	if n := testing.AllocsPerRun(100, func() { _, _ = CanonicalKey("x-request-id"), LowerName(buf) }); n != 0 {
		t.Errorf("%v allocations for a well-known name", n)
	}
}
