package config

import (
	"strings"
	"testing"
)

// TestHashesAreCheckedAsHex: a stored hash of the right length but not hex is refused when the
// config is validated, not only when keygate serve starts.
func TestHashesAreCheckedAsHex(t *testing.T) {
	notHex := "sha256:" + strings.Repeat("zz", 32)
	for _, cfg := range []string{
		"admin:\n  tokens: [{name: a, role: gateway_admin, hash: \"" + notHex + "\"}]\n",
		"tenants:\n  - name: acme\n    credentials: [{id: k1, hash: \"" + notHex + "\"}]\n",
	} {
		f, err := Parse([]byte(cfg))
		if err == nil {
			err = f.Validate()
		}
		if err == nil || !strings.Contains(err.Error(), "want sha256:<64 hex digits>") {
			t.Errorf("%s: got %v", cfg, err)
		}
	}
	if _, err := ParseHash(Hash([]byte("x"))); err != nil {
		t.Errorf("ParseHash refuses what Hash writes: %v", err)
	}
}

// TestUpstreamURLCarriesNoCredentials: credentials belong in secrets, where they are never shown.
func TestUpstreamURLCarriesNoCredentials(t *testing.T) {
	f, err := Parse([]byte("providers:\n  - name: api\n    hosts: [api.egress.local]\n    upstream: {url: \"https://user:pass@api.example.test\"}\n"))
	if err == nil {
		err = f.Validate()
	}
	if err == nil || !strings.Contains(err.Error(), "providers[0].upstream.url: must not carry credentials") {
		t.Fatalf("got %v", err)
	}
}

// TestUpstreamPrefixIsCanonical: the prefix every caller path goes under has no dot segment,
// empty segment or encoded slash itself, so the path sent upstream has none either.
func TestUpstreamPrefixIsCanonical(t *testing.T) {
	for url, ok := range map[string]bool{
		"https://a.example": true, "https://a.example/": true, "https://a.example/v1/": true, "https://a.example/v1/x": true,
		"https://a.example/a/../b": false, "https://a.example/%2e%2e/b": false, "https://a.example//b": false,
		"https://a.example/a%2fb": false, "https://a.example/./b": false,
	} {
		f, err := Parse([]byte("providers:\n  - name: api\n    hosts: [api.egress.local]\n    upstream: {url: \"" + url + "\"}\n"))
		if err == nil {
			err = f.Validate()
		}
		if (err == nil) != ok {
			t.Errorf("%s: got %v", url, err)
		}
		if err != nil && !strings.Contains(err.Error(), "providers[0].upstream.url: path prefix") {
			t.Errorf("%s: error does not name the field and rule: %v", url, err)
		}
	}
}
