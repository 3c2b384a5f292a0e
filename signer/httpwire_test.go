package signer

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
)

// TestRequestFromHTTPKeepsAClientRequestsTarget: a request built by a client (RequestURI empty,
// as `keygate sign` reads one) keeps its path and query.
func TestRequestFromHTTPKeepsAClientRequestsTarget(t *testing.T) {
	hr, err := http.NewRequest("GET", "https://api.example/v1/x?b=2&a=1", nil)
	if err != nil {
		t.Fatal(err)
	}
	r, err := RequestFromHTTP(hr, "https")
	if err != nil {
		t.Fatal(err)
	}
	if r.Path != "/v1/x?b=2&a=1" || r.Authority != "api.example" {
		t.Errorf("request %s %s, want /v1/x?b=2&a=1 at api.example", r.Authority, r.Path)
	}
}

// TestWriteHTTP1ContentLength: Content-Length is printed for a body, and for POST, PUT and PATCH
// even without one (0: a server must not wait for a body), never for a bodiless GET.
func TestWriteHTTP1ContentLength(t *testing.T) {
	for _, tt := range []struct {
		method, body, want string
	}{
		{"GET", "", ""}, {"DELETE", "", ""}, {"GET", "x", "1"},
		{"POST", "", "0"}, {"PUT", "", "0"}, {"PATCH", "", "0"}, {"POST", "abc", "3"},
	} {
		var body []byte
		if tt.body != "" {
			body = []byte(tt.body)
		}
		var out bytes.Buffer
		if err := NewRequest(tt.method, "https", "h", "/p", http.Header{}, body).WriteHTTP1(&out); err != nil {
			t.Fatal(err)
		}
		got := ""
		for _, line := range strings.Split(out.String(), "\r\n") {
			if v, ok := strings.CutPrefix(line, "Content-Length: "); ok {
				got = v
			}
		}
		if got != tt.want {
			t.Errorf("%s with body %q: Content-Length %q, want %q\n%s", tt.method, tt.body, got, tt.want, out.String())
		}
	}
}
