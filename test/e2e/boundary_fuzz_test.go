package e2e

import (
	"strings"
	"testing"

	"github.com/keygate/keygate/internal/devstack"
)

// fuzzConfig: one tenant-less gateway, two providers with their own keys, upstreams and
// prefixes, so that which upstream got a request and which key it carries say which provider
// Envoy's router chose and which one keygate signed for.
const fuzzConfig = `
keystore: {type: file, file: {path: keys.yaml}}
providers:
  - name: alpha-pay
    hosts: [alpha.egress.local, pay.alpha.example]
    upstream: {url: "ALPHA_UP/alpha"}
    secrets: {key: secret/keygate/boundary#alpha}
    signing: [{scheme: static, secret: key, in: header, name: X-Api-Key}]
  - name: beta-pay
    hosts: [beta.egress.local, b]
    upstream: {url: "BETA_UP/beta/v1"}
    secrets: {key: secret/keygate/boundary#beta}
    signing: [{scheme: static, secret: key, in: header, name: X-Api-Key}]
`

// FuzzAuthorityPath sends arbitrary :authority/:path pairs through the egress emulator (Envoy's
// router, with the HCM settings keygate pushes) to keygate. Whatever the pair: a request that
// reaches an upstream carries the key of that upstream's provider (keygate's provider choice is
// the router's), and its path starts with that provider's prefix and has no dot segment, empty
// segment, backslash or encoded slash.
func FuzzAuthorityPath(f *testing.F) {
	for _, seed := range [][2]string{
		{"beta.egress.local", "/x"}, {"beta.egress.local:x", "/x"}, {"beta.egress.local:1", "/../../etc/passwd"},
		{"ALPHA.egress.local:+80", "/%2e%2e/%2e%2e/etc"}, {"b", "/a/..%2f..%2fetc"}, {"b:0", "//evil.example/x"},
		{"*", "/"}, {"[::1]:80", "/"}, {"alpha.egress.local.", "/"}, {"pay.alpha.example:4294967296", "/x"},
		{"beta.egress.local", "/a\\..\\..\\x"}, {"beta.egress.local", "/%252e%252e/x?y=/../"}, {"alpha.egress.local", "/x/.."},
		{"b: 1", "/.%2e/"}, {"beta.egress.local:-1", "/x"},
	} {
		f.Add(seed[0], seed[1])
	}
	alphaUp, alphaSeen := captureUpstream(f)
	betaUp, betaSeen := captureUpstream(f)
	cfg := strings.NewReplacer("ALPHA_UP", alphaUp.URL, "BETA_UP", betaUp.URL).Replace(fuzzConfig)
	s := startStack(f, devstack.Options{ConfigDir: configDir(f, cfg, "", boundaryKeys)})
	f.Fuzz(func(t *testing.T, authority, path string) {
		if strings.ContainsAny(authority+path, "\r\n") || strings.ContainsAny(path, " \t") || path == "" {
			return // not one request on the wire
		}
		a0, b0 := alphaSeen.count(), betaSeen.count()
		status, _, _, err := rawSend(s, path, authority, nil)
		if err != nil {
			return // the emulator's HTTP server refused the bytes outright
		}
		da, db := alphaSeen.count()-a0, betaSeen.count()-b0
		switch {
		case da+db > 1:
			t.Fatalf("%q %q: one request reached %d upstream requests", authority, path, da+db)
		case da == 1:
			r, _ := alphaSeen.last()
			if r.Header.Get("X-Api-Key") != "alpha-provider-key-1111" {
				t.Fatalf("%q %q: alpha's upstream got a request signed for another provider", authority, path)
			}
			checkUnderPrefix(t, r, "/alpha/")
		case db == 1:
			r, _ := betaSeen.last()
			if r.Header.Get("X-Api-Key") != "beta-provider-key-2222" {
				t.Fatalf("%q %q: beta's upstream got a request signed for another provider", authority, path)
			}
			checkUnderPrefix(t, r, "/beta/v1/")
		case status == 200:
			t.Fatalf("%q %q: 200 without reaching an upstream", authority, path)
		}
	})
}
