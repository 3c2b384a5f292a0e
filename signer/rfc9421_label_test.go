package signer

import "testing"

// TestRFC9421LabelIsAnSFKey: a signature label is a Structured Field key (RFC 8941 3.1.2):
// a lowercase letter or "*" first, then lowercase letters, digits, "_", "-", "." or "*".
func TestRFC9421LabelIsAnSFKey(t *testing.T) {
	for label, want := range map[string]bool{
		"sig1": true, "a": true, "z": true, "*": true, "*a": true, "a0": true, "a9": true,
		"a_b": true, "a-b": true, "a.b": true, "a*": true, "z.9_-*": true,
		"": false, "0a": false, "9": false, "_a": false, "-a": false, ".a": false,
		"A": false, "aB": false, "a`": false, "a{": false, "a/": false, "a:": false,
		"`": false, "{": false, "a b": false, "a\"": false, "é": false,
	} {
		if got := rfc9421Token(label); got != want {
			t.Errorf("rfc9421Token(%q) = %v, want %v", label, got, want)
		}
	}
}
