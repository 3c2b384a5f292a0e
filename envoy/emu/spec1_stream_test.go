package emu

import (
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	extprocv3cfg "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"
)

func TestSpec1_OneStreamPerRequestOpenedLazily(t *testing.T) {
	h := newHarness(t, nil, nil)
	h.do("GET", "/a", "", nil)
	h.do("POST", "/b", "x", nil)
	if got := h.emu.Stats().StreamsOpened; got != 2 {
		t.Fatalf("streams opened = %d, want 2", got)
	}
	skipAll := newHarness(t, nil, func(c *Config) {
		c.ProcessingMode = &extprocv3cfg.ProcessingMode{RequestHeaderMode: extprocv3cfg.ProcessingMode_SKIP, ResponseHeaderMode: extprocv3cfg.ProcessingMode_SKIP}
	})
	if r := skipAll.do("GET", "/", "", nil); r.status != 200 {
		t.Fatalf("status %d", r.status)
	}
	if got := skipAll.emu.Stats().StreamsOpened; got != 0 {
		t.Fatalf("no message due, yet %d streams opened", got)
	}
}

func TestSpec1_BufferedOrderAndEndOfStream(t *testing.T) {
	cases := []struct {
		name, method, body string
		want               []string
		headersEOS         bool
	}{
		{"post with body", "POST", `{"a":1}`, []string{"request_headers", "request_body", "response_headers", "response_body"}, false},
		{"get without body", "GET", "", []string{"request_headers", "response_headers", "response_body"}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, nil, nil)
			r := h.do(c.method, "/x", c.body, nil)
			if r.status != 200 || r.body != "hello from up" {
				t.Fatalf("client got %d %q", r.status, r.body)
			}
			if got := h.proc.kinds(); !equalStrings(got, c.want) {
				t.Fatalf("messages %v, want %v", got, c.want)
			}
			msgs := h.proc.messages()
			if msgs[0].GetRequestHeaders().GetEndOfStream() != c.headersEOS {
				t.Fatalf("request_headers end_of_stream = %v", !c.headersEOS)
			}
			if c.body != "" {
				rb := msgs[1].GetRequestBody()
				if string(rb.GetBody()) != c.body || !rb.GetEndOfStream() {
					t.Fatalf("request_body %q eos=%v", rb.GetBody(), rb.GetEndOfStream())
				}
			}
			last := msgs[len(msgs)-1].GetResponseBody()
			if string(last.GetBody()) != "hello from up" || !last.GetEndOfStream() {
				t.Fatalf("response_body %q eos=%v", last.GetBody(), last.GetEndOfStream())
			}
		})
	}
}

func TestSpec1_EmptyChunkedBodyIsStillSent(t *testing.T) {
	h := newHarness(t, nil, nil)
	req, _ := http.NewRequest("POST", h.front.URL+"/", io.NopCloser(strings.NewReader("")))
	req.ContentLength = -1 // chunked, 0\r\n\r\n
	req.TransferEncoding = []string{"chunked"}
	h.send(req)
	msgs := h.proc.messages()
	if kindOf(msgs[0]) != "request_headers" || msgs[0].GetRequestHeaders().GetEndOfStream() {
		t.Fatalf("chunked request must not end on headers")
	}
	if kindOf(msgs[1]) != "request_body" || len(msgs[1].GetRequestBody().GetBody()) != 0 || !msgs[1].GetRequestBody().GetEndOfStream() {
		t.Fatalf("want empty request_body with end_of_stream, got %v", msgs[1])
	}
}

// Envoy's ext_proc_integration_test.cc GetAndSetTrailers... / ProcessingModeResponseOnly cover
// trailers over HTTP/2; HTTP/1 trailers are dropped by the codec (see
// TestSpec9_HTTP1RequestTrailersDropped).
func TestSpec1_RequestTrailersOnlyWhenSend(t *testing.T) {
	for _, mode := range []extprocv3cfg.ProcessingMode_HeaderSendMode{extprocv3cfg.ProcessingMode_SKIP, extprocv3cfg.ProcessingMode_SEND} {
		t.Run(mode.String(), func(t *testing.T) {
			h := newHarness(t, nil, func(c *Config) { c.ProcessingMode.RequestTrailerMode = mode })
			req, _ := http.NewRequest("POST", h.h2URL()+"/", io.NopCloser(strings.NewReader("payload")))
			req.ContentLength = -1
			req.Trailer = http.Header{"X-Checksum": {"abc"}}
			h.sendH2(req)
			msgs := h.proc.messages()
			if msgs[1].GetRequestBody().GetEndOfStream() {
				t.Fatal("request ended with trailers: request_body end_of_stream must be false")
			}
			sent := kindOf(msgs[2]) == "request_trailers"
			if sent != (mode == extprocv3cfg.ProcessingMode_SEND) {
				t.Fatalf("trailers sent=%v with mode %v: %v", sent, mode, h.proc.kinds())
			}
			if sent {
				if v, _ := headerValue(msgs[2].GetRequestTrailers().GetTrailers(), "x-checksum"); v != "abc" {
					t.Fatalf("trailer value %q", v)
				}
			}
		})
	}
}

func TestSpec1_MetadataEveryMessageProtocolConfigFirstOnly(t *testing.T) {
	h := newHarness(t, nil, nil)
	h.do("POST", "/", "b", nil)
	for i, m := range h.proc.messages() {
		if m.GetMetadataContext() == nil {
			t.Fatalf("message %d has no metadata_context", i)
		}
		if (m.GetProtocolConfig() != nil) != (i == 0) {
			t.Fatalf("protocol_config on message %d: %v", i, m.GetProtocolConfig())
		}
	}
	pc := h.proc.messages()[0].GetProtocolConfig()
	if pc.GetRequestBodyMode() != extprocv3cfg.ProcessingMode_BUFFERED || pc.GetResponseBodyMode() != extprocv3cfg.ProcessingMode_BUFFERED {
		t.Fatalf("protocol_config %v", pc)
	}
}

func TestSpec1_AttributesOnFirstMessageOfEachDirection(t *testing.T) {
	h := newHarness(t, nil, func(c *Config) {
		c.RequestAttributes = []string{"request.path", "connection.uri_san_peer_certificate"}
		c.ResponseAttributes = []string{"custom.attr"}
		c.AttributeHook = func(*http.Request) map[string]any {
			return map[string]any{"connection.uri_san_peer_certificate": "spiffe://t/ns/a/sa/b", "custom.attr": 7}
		}
	})
	h.do("POST", "/p?q=1", "b", nil)
	msgs := h.proc.messages()
	withAttrs := []bool{true, false, true, false} // request_headers, request_body, response_headers, response_body
	for i, m := range msgs {
		if (m.GetAttributes() != nil) != withAttrs[i] {
			t.Fatalf("message %d (%s) attributes presence wrong: %v", i, kindOf(m), m.GetAttributes())
		}
	}
	st := msgs[0].GetAttributes()[DefaultFilterName].GetFields()
	if st["request.path"].GetStringValue() != "/p?q=1" || st["connection.uri_san_peer_certificate"].GetStringValue() != "spiffe://t/ns/a/sa/b" {
		t.Fatalf("request attributes %v", st)
	}
	if msgs[2].GetAttributes()[DefaultFilterName].GetFields()["custom.attr"].GetNumberValue() != 7 {
		t.Fatalf("response attributes %v", msgs[2].GetAttributes())
	}
}

func TestSpec1_HeaderEncoding(t *testing.T) {
	h := newHarness(t, nil, nil)
	h.do("GET", "/enc?x=1", "", map[string]string{"Host": "API.example.com", "X-Mixed-Case": "V"})
	hm := h.proc.messages()[0].GetRequestHeaders().GetHeaders()
	for _, hv := range hm.GetHeaders() {
		if hv.GetValue() != "" {
			t.Fatalf("header %q uses value, Envoy sends raw_value only", hv.GetKey())
		}
		if hv.GetKey() != strings.ToLower(hv.GetKey()) {
			t.Fatalf("header key %q not lower-case", hv.GetKey())
		}
	}
	want := map[string]string{":authority": "api.example.com", ":path": "/enc?x=1", ":method": "GET", ":scheme": "http", "x-mixed-case": "V", "x-forwarded-proto": "http"}
	for k, v := range want {
		if got, ok := headerValue(hm, k); !ok || got != v {
			t.Fatalf("%s = %q (present %v), want %q", k, got, ok, v)
		}
	}
	if id, ok := headerValue(hm, "x-request-id"); !ok || len(id) != 36 {
		t.Fatalf("x-request-id %q", id)
	}
	rh := h.proc.messages()[1].GetResponseHeaders().GetHeaders()
	if s, _ := headerValue(rh, ":status"); s != "200" {
		t.Fatalf(":status %q", s)
	}
}

func TestSpec1_LocalRepliesStillSendResponseHeaders(t *testing.T) {
	cases := []struct {
		name   string
		edit   func(*Config)
		status int
	}{
		{"no route 404", func(c *Config) { c.VirtualHosts[0].Routes[0].Prefix = "/only" }, 404},
		{"no healthy upstream 503", func(c *Config) { c.Clusters["up"] = Cluster{} }, 503},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, nil, c.edit)
			r := h.do("GET", "/", "", nil)
			if r.status != c.status {
				t.Fatalf("status %d, want %d", r.status, c.status)
			}
			msgs := h.proc.messages()
			if len(msgs) < 2 || kindOf(msgs[1]) != "response_headers" {
				t.Fatalf("local reply must pass response_headers to ext_proc: %v", h.proc.kinds())
			}
			if s, _ := headerValue(msgs[1].GetResponseHeaders().GetHeaders(), ":status"); s != strconv.Itoa(c.status) {
				t.Fatalf(":status %q", s)
			}
		})
	}
}

func TestSpec1_BufferLimit(t *testing.T) {
	t.Run("request over limit is 413", func(t *testing.T) {
		h := newHarness(t, nil, func(c *Config) { c.BufferLimit = 32 })
		r := h.do("POST", "/", strings.Repeat("a", 33), nil)
		if r.status != 413 {
			t.Fatalf("status %d", r.status)
		}
		if len(h.up.requests()) != 0 {
			t.Fatal("upstream reached")
		}
		for _, k := range h.proc.kinds() {
			if k == "request_body" {
				t.Fatal("partial body sent in BUFFERED mode")
			}
		}
	})
	t.Run("response over limit is 500", func(t *testing.T) {
		h := newHarness(t, nil, func(c *Config) { c.BufferLimit = 8 })
		r := h.do("GET", "/", "", nil) // upstream answers "hello from up" (13 bytes)
		if r.status != 500 {
			t.Fatalf("status %d", r.status)
		}
		if got := h.proc.kinds(); !equalStrings(got, []string{"request_headers", "response_headers"}) {
			t.Fatalf("messages %v", got)
		}
	})
	t.Run("default is 1 MiB", func(t *testing.T) {
		h := newHarness(t, nil, nil)
		if r := h.do("POST", "/", strings.Repeat("a", 1<<20), nil); r.status != 200 {
			t.Fatalf("1 MiB: status %d", r.status)
		}
		if r := h.do("POST", "/", strings.Repeat("a", 1<<20+1), nil); r.status != 413 {
			t.Fatalf("1 MiB + 1: status %d", r.status)
		}
	})
}

func TestSpec1_StreamHalfClosedAfterLastResponse(t *testing.T) {
	h := newHarness(t, nil, nil)
	h.do("GET", "/", "", nil)
	waitFor(t, func() bool { h.proc.mu.Lock(); defer h.proc.mu.Unlock(); return len(h.proc.endErrs) == 1 })
	h.proc.mu.Lock()
	defer h.proc.mu.Unlock()
	if err := h.proc.endErrs[0]; err != io.EOF && !strings.Contains(err.Error(), "canceled") {
		t.Fatalf("server saw %v, want EOF or cancellation", err)
	}
}
