package signer

import "testing"

// TestCanonicalStepAsksForTheBodyOnlyWhenItSignsIt: a string to sign with {body} or
// {body_sha256} needs the request body buffered (Envoy sends it); one without does not, so a
// header-only provider is not made to buffer bodies.
func TestCanonicalStepAsksForTheBodyOnlyWhenItSignsIt(t *testing.T) {
	secrets := map[string]string{"k": "secret/p#k"}
	for tmpl, want := range map[string]bool{
		`{method}\n{body}`: true, `{method}\n{body_sha256}`: true, `{body}`: true,
		`{method}\n{path}\n{timestamp}`: false, `{header:content-type}`: false,
	} {
		step := mustStep(t, "hmac", "{key: k, string_to_sign: '"+tmpl+"', name: X-Sig}", secrets, nil)
		if got := step.Needs().RequestBody; got != want {
			t.Errorf("string_to_sign %s: needs the body %v, want %v", tmpl, got, want)
		}
	}
}
