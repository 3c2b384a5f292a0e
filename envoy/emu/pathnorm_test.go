package emu

import (
	"testing"

	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
)

// TestNormalizePath: cases from Envoy's test/common/http/path_utility_test.cc (NormalizeValidPaths,
// NormalizeCasePath, MergeSlashes) and conn_manager_utility_test.cc (escaped slashes), with the
// egress config keygate pushes: normalize_path, merge_slashes, REJECT_REQUEST.
func TestNormalizePath(t *testing.T) {
	cfg := Config{NormalizePath: true, MergeSlashes: true, PathWithEscapedSlashesAction: hcmv3.HttpConnectionManager_REJECT_REQUEST}
	for in, want := range map[string]string{
		"/xyz":                   "/xyz",
		"/x/y/z":                 "/x/y/z",
		"/../x/y/z":              "/x/y/z",
		"/abc/../x/y/z":          "/x/y/z",
		"/abc/../def/x/y/z":      "/def/x/y/z",
		"/abc/./x/y/z":           "/abc/x/y/z",
		"/./x/y/z":               "/x/y/z",
		"/../../x/y/z":           "/x/y/z",
		"/x/y/z/..":              "/x/y/",
		"/x/y/z/.":               "/x/y/z/",
		"/x/y/z/%2e%2e":          "/x/y/",
		"/x/y/z/%2E%2e/":         "/x/y/",
		"/x/.%2E/y":              "/y",
		"/x\\y":                  "/x/y",
		"/x\\..\\y":              "/y",
		"/%41%62%7e":             "/Ab~",
		"/a%20b%3f":              "/a%20b%3f",
		"/a b":                   "/a%20b",
		"/beta/../../etc/passwd": "/etc/passwd",
		"/beta//evil.example/x":  "/beta/evil.example/x",
		"//x//y//":               "/x/y/",
		"/a/..?q=/../x":          "/?q=/../x",
		"/a#frag":                "/a",
		"/":                      "/",
	} {
		h := headerMap{entries: []headerEntry{{":path", in}}}
		if lr := normalizePath(&h, cfg); lr != nil {
			t.Errorf("%q: rejected (%s)", in, lr.details)
			continue
		}
		if got, _ := h.get(":path"); got != want {
			t.Errorf("%q normalized to %q, want %q", in, got, want)
		}
	}
	for _, in := range []string{"/a/..%2fetc", "/a%2F", "/a%5cb", "/a%5C..", "/x/\xff"} {
		h := headerMap{entries: []headerEntry{{":path", in}}}
		if lr := normalizePath(&h, cfg); lr == nil || lr.status != 400 || lr.details != "path_normalization_failed" {
			t.Errorf("%q: want a 400 path_normalization_failed, got %+v", in, lr)
		}
	}
	// Without the settings Envoy forwards the path as it came.
	h := headerMap{entries: []headerEntry{{":path", "/beta/../x%2f"}}}
	if lr := normalizePath(&h, Config{}); lr != nil {
		t.Fatal(lr.details)
	}
	if got, _ := h.get(":path"); got != "/beta/../x%2f" {
		t.Fatalf("unconfigured: %q", got)
	}
}

// TestStripHostPort: Envoy's HeaderUtilityTest RemovePortsFromHost, plus absl::SimpleAtoi's
// rules for the port (a non-numeric "port" is not stripped).
func TestStripHostPort(t *testing.T) {
	for in, want := range map[string]string{
		"localhost": "localhost", "localhost:443": "localhost", "": "", ":443": "",
		"[fc00::1]:443": "[fc00::1]", "[fc00::1]": "[fc00::1]", ":": ":", "]:": "]:", ":abc": ":abc",
		"beta.egress.local:x": "beta.egress.local:x", "h:+8": "h", "h:-8": "h:-8", "h:4294967296": "h:4294967296",
	} {
		if got := stripHostPort(in); got != want {
			t.Errorf("stripHostPort(%q) = %q, want %q", in, got, want)
		}
	}
}
