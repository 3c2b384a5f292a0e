package routing

import (
	"strings"
	"testing"
)

// TestHostKeyIsEnvoysStripAnyHostPort: the cases of Envoy's HeaderUtilityTest
// RemovePortsFromHost (test/common/http/header_utility_test.cc) and the issue's
// "beta.egress.local:x" (a non-numeric port is not stripped, so it matches no name).
func TestHostKeyIsEnvoysStripAnyHostPort(t *testing.T) {
	for in, want := range map[string]string{
		"localhost": "localhost", "localhost:443": "localhost", "": "", ":443": "",
		"192.168.1.1": "192.168.1.1", "192.168.1.1:443": "192.168.1.1", "[fc00::1]:443": "[fc00::1]",
		"[fc00::1]": "[fc00::1]", ":": ":", "]:": "]:", ":abc": ":abc",
		"Beta.Egress.Local:1": "beta.egress.local", "beta.egress.local:x": "beta.egress.local:x",
		"beta.egress.local:+1": "beta.egress.local", "beta.egress.local:-1": "beta.egress.local:-1",
		"beta.egress.local:4294967295": "beta.egress.local", "beta.egress.local:4294967296": "beta.egress.local:4294967296",
		"a:1:2": "a:1", "a]:80": "a]",
	} {
		if got := HostKey(in); got != want {
			t.Errorf("HostKey(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCheckHost(t *testing.T) {
	for _, h := range []string{"pay.egress.local", "p", "a-b.c0", strings.Repeat("a", 63) + ".x"} {
		if err := CheckHost(h); err != nil {
			t.Errorf("%q: %v", h, err)
		}
	}
	for h, rule := range map[string]string{
		"*": "wildcard", "*.egress.local": "wildcard", "pay.*": "wildcard", "beta.egress.local:1": "port",
		"Pay.Internal": "lower case", "": "empty", "a..b": "empty label", ".a": "empty label", "a.": "empty label",
		"-a.b": "'-'", "a-.b": "'-'", "a b": "DNS name", "a/b": "DNS name", "[::1]": "DNS name", "a_b": "DNS name",
		strings.Repeat("a", 64): "63", strings.Repeat("a.", 127) + "ab": "253",
	} {
		err := CheckHost(h)
		if err == nil || !strings.Contains(err.Error(), rule) {
			t.Errorf("%q: got %v, want an error naming %q", h, err, rule)
		}
	}
}

func TestCheckPath(t *testing.T) {
	for _, p := range []string{"/", "/v1/orders", "/v1/orders/", "/a%20b", "/a?x=../..&y=%2F", "/a.b/..c/c..", "/%7Euser", "/a%25b", "/a;b/c", "/...;x", "/%e4%b8%ad%e6%96%87", "/\u4e2d"} {
		if err := CheckPath(p); err != nil {
			t.Errorf("%q: %v", p, err)
		}
	}
	for p, rule := range map[string]string{
		"/beta/../../etc/passwd": "dot segment", "/./x": "dot segment", "/x/..": "dot segment",
		"/beta/%2e%2e/%2e%2e/etc": "dot segment", "/%2E./x": "dot segment", "/a/..%2f..%2fetc": "encoded slash",
		"/a%5c..": "encoded slash", "/beta//evil.example/x": "empty segment", "//evil.example/x": "empty segment",
		"/a\\..\\b": "backslash", "/a%0d%0aX:y": "control", "/a\x00": "control", "/%zz": "malformed",
		"/%2": "malformed", "/%252e%252e/x": "dot segment", "/%25252e%25252e/x": "dot segment",
		"/%2525252e": "more than", "evil.example/x": "start with '/'", "": "start with '/'", "*": "start with '/'",
		"/a/%252f": "encoded slash", "/..;/x": "dot segment", "/a/%2e%2e;jsessionid=1/x": "dot segment",
		"/.;x": "dot segment", "/%c0%ae%c0%ae/x": "not UTF-8", "/%ef%bc%8e%ef%bc%8e/x": "Unicode normalization",
		"/a\uff0fb": "Unicode normalization", "/\xff": "not UTF-8",
	} {
		err := CheckPath(p)
		if err == nil || !strings.Contains(err.Error(), rule) {
			t.Errorf("%q: got %v, want an error naming %q", p, err, rule)
		}
	}
}

func TestRouteName(t *testing.T) {
	if p, ok := ProviderOf(RouteName("pay")); !ok || p != "pay" {
		t.Fatalf("round trip: %q %v", p, ok)
	}
	for _, n := range []string{"", "pay", "keygate/", "outbound|80||pay"} {
		if p, ok := ProviderOf(n); ok {
			t.Errorf("ProviderOf(%q) = %q: not one of keygate's routes", n, p)
		}
	}
}
