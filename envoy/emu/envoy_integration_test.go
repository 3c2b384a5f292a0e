package emu

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	extprocv3cfg "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
)

// Scenarios ported from Envoy's test/extensions/filters/http/ext_proc/ext_proc_integration_test.cc
// (ExtProcIntegrationTest); each test names the Envoy test it follows. What they check is what
// Envoy's test checks, through the emulator.

// GetAndCloseStream: the processor closes the stream (OK) on request_headers; the request goes
// on unmodified.
func TestEnvoyIntegration_GetAndCloseStream(t *testing.T) {
	h := newHarness(t, onKind("request_headers", func(*extprocv3.ProcessingRequest) *extprocv3.ProcessingResponse { return nil }), nil)
	if r := h.do("GET", "/", "", nil); r.status != 200 || len(h.up.requests()) != 1 {
		t.Fatalf("status %d, %d upstream requests", r.status, len(h.up.requests()))
	}
}

// GetAndFailStreamOutOfLine: a headers response, then a gRPC error between messages: 500.
func TestEnvoyIntegration_GetAndFailStreamOutOfLine(t *testing.T) {
	fail := func(s *scriptStream) error {
		req := s.recv()
		s.send(reply(req, nil))
		return status.Error(codes.Internal, "out of line")
	}
	h := newHarness(t, fail, nil)
	if r := h.do("GET", "/", "", nil); r.status != 500 {
		t.Fatalf("status %d, want 500", r.status)
	}
}

// GetAndSetHeaders: set x-new-header, remove x-remove-this.
func TestEnvoyIntegration_GetAndSetHeaders(t *testing.T) {
	mut := headerMut([]*corev3.HeaderValueOption{setRaw("x-new-header", "new")}, "x-remove-this")
	h := newHarness(t, mutateOn("request_headers", &extprocv3.CommonResponse{HeaderMutation: mut}), nil)
	h.do("GET", "/", "", map[string]string{"x-remove-this": "yes"})
	got := h.up.requests()[0].header
	if got.Get("X-New-Header") != "new" || got.Get("X-Remove-This") != "" {
		t.Fatalf("upstream headers %v", got)
	}
}

// BothValueAndValueBytesAreSetInHeaderValueWrong: value and raw_value both set is a 500.
func TestEnvoyIntegration_BothValueAndValueBytesAreSet(t *testing.T) {
	bad := &corev3.HeaderValueOption{Header: &corev3.HeaderValue{Key: "x-new-header", Value: "foo", RawValue: []byte("bar")}}
	h := newHarness(t, mutateOn("request_headers", &extprocv3.CommonResponse{HeaderMutation: headerMut([]*corev3.HeaderValueOption{bad})}), nil)
	if r := h.do("GET", "/", "", nil); r.status != 500 || len(h.up.requests()) != 0 {
		t.Fatalf("status %d", r.status)
	}
}

// GetBufferedButNoBodies: BUFFERED both ways, a GET and an empty response: only the headers
// messages, each with end_of_stream.
func TestEnvoyIntegration_GetBufferedButNoBodies(t *testing.T) {
	h := newHarness(t, nil, nil)
	h.up.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Length", "0")
	})
	h.do("GET", "/", "", nil)
	msgs := h.proc.messages()
	if got := h.proc.kinds(); !equalStrings(got, []string{"request_headers", "response_headers"}) {
		t.Fatalf("messages %v", got)
	}
	if !msgs[0].GetRequestHeaders().GetEndOfStream() || !msgs[1].GetResponseHeaders().GetEndOfStream() {
		t.Fatal("end_of_stream not set on headers without a body")
	}
}

// RemoveRequestContentLengthInBufferedMode: request headers SKIP, body BUFFERED: content-length
// goes, the replaced body is sent chunked.
func TestEnvoyIntegration_RemoveRequestContentLengthInBufferedMode(t *testing.T) {
	h := newHarness(t, mutateOn("request_body", &extprocv3.CommonResponse{BodyMutation: bodyMut("Hello, World!")}), func(c *Config) {
		c.ProcessingMode.RequestHeaderMode = extprocv3cfg.ProcessingMode_SKIP
		c.ProcessingMode.ResponseHeaderMode = extprocv3cfg.ProcessingMode_SKIP
	})
	h.do("POST", "/", "test!", nil)
	seen := h.up.requests()[0]
	if seen.body != "Hello, World!" || !seen.chunked {
		t.Fatalf("upstream body %q chunked=%v", seen.body, seen.chunked)
	}
}

// MismatchedContentLengthAndBodyLength: a content-length from the headers response that does
// not match the mutated body: 500, the upstream is never contacted.
func TestEnvoyIntegration_MismatchedContentLengthAndBodyLength(t *testing.T) {
	run := func(s *scriptStream) error {
		for req := s.recv(); req != nil; req = s.recv() {
			switch kindOf(req) {
			case "request_headers":
				s.send(reply(req, &extprocv3.CommonResponse{HeaderMutation: headerMut([]*corev3.HeaderValueOption{setRaw("content-length", "11")})}))
			case "request_body":
				s.send(reply(req, &extprocv3.CommonResponse{BodyMutation: bodyMut("Hello, World!")}))
			default:
				s.send(reply(req, nil))
			}
		}
		return nil
	}
	h := newHarness(t, run, nil)
	if r := h.do("POST", "/", "Replace this!", nil); r.status != 500 || len(h.up.requests()) != 0 {
		t.Fatalf("status %d, %d upstream requests", r.status, len(h.up.requests()))
	}
}

// GetAndSetHeadersOnResponse / ...BadStatus / ...TwoStatuses: :status may be set; an invalid
// one (100) is ignored while the other mutations apply; appending a second :status is ignored.
func TestEnvoyIntegration_SetStatusOnResponse(t *testing.T) {
	appendStatus := appendRaw(":status", "202")
	cases := []struct {
		name string
		set  []*corev3.HeaderValueOption
		want int
	}{
		{"GetAndSetHeadersOnResponse", []*corev3.HeaderValueOption{setRaw("x-response-processed", "1"), setRaw(":status", "201")}, 201},
		{"GetAndSetHeadersOnResponseBadStatus", []*corev3.HeaderValueOption{setRaw("x-response-processed", "1"), setRaw(":status", "100")}, 200},
		{"GetAndSetHeadersOnResponseTwoStatuses", []*corev3.HeaderValueOption{setRaw("x-response-processed", "1"), setRaw(":status", "201"), appendStatus}, 201},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, mutateOn("response_headers", &extprocv3.CommonResponse{HeaderMutation: headerMut(c.set)}), nil)
			r := h.do("GET", "/", "", nil)
			if r.status != c.want || r.header.Get("X-Response-Processed") != "1" {
				t.Fatalf("status %d, x-response-processed %q", r.status, r.header.Get("X-Response-Processed"))
			}
		})
	}
}

// GetAndSetHeadersAndTrailersOnResponse and NoTrailersOnResponseWithModeSendHeaderTrailer:
// response trailers go to the processor only when there are some, and its mutation reaches
// the client. Envoy's test upstream speaks HTTP/2 (its HTTP/1 codec drops trailers).
func TestEnvoyIntegration_ResponseTrailers(t *testing.T) {
	up := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Trailer", "X-Test-Trailers")
		_, _ = io.WriteString(w, strings.Repeat("x", 100))
		w.Header().Set("X-Test-Trailers", "Yes")
	}))
	up.Config.Protocols = new(http.Protocols)
	up.Config.Protocols.SetUnencryptedHTTP2(true)
	up.Start()
	t.Cleanup(up.Close)
	mut := headerMut([]*corev3.HeaderValueOption{setRaw("x-modified-trailers", "xxx")})
	h := newHarness(t, mutateOn("response_trailers", &extprocv3.CommonResponse{HeaderMutation: mut}), func(c *Config) {
		c.ProcessingMode = &extprocv3cfg.ProcessingMode{ResponseTrailerMode: extprocv3cfg.ProcessingMode_SEND}
		c.Clusters["up"] = Cluster{Endpoints: []string{strings.TrimPrefix(up.URL, "http://")}, HTTP2: true}
	})
	req, _ := http.NewRequest("GET", h.h2URL()+"/", nil)
	tr := &http.Transport{Protocols: up.Config.Protocols}
	defer tr.CloseIdleConnections()
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.Trailer.Get("X-Test-Trailers") != "Yes" || resp.Trailer.Get("X-Modified-Trailers") != "xxx" {
		t.Fatalf("trailers %v", resp.Trailer)
	}
	if got := h.proc.kinds(); !equalStrings(got, []string{"request_headers", "response_headers", "response_trailers"}) {
		t.Fatalf("messages %v", got)
	}

	h = newHarness(t, nil, func(c *Config) {
		c.ProcessingMode = &extprocv3cfg.ProcessingMode{ResponseTrailerMode: extprocv3cfg.ProcessingMode_SEND}
	})
	if r := h.do("GET", "/", "", nil); r.status != 200 {
		t.Fatalf("status %d", r.status)
	}
	if got := h.proc.kinds(); !equalStrings(got, []string{"request_headers", "response_headers"}) {
		t.Fatalf("messages %v: no trailers, no trailers message", got)
	}
}

// serverSendNewTimeout / newTimeoutWrongConfigTest: a response carrying only
// override_message_timeout restarts the message timer when it is within max_message_timeout
// (Filter::onNewTimeout); without max_message_timeout it is ignored and the original timer
// fires (Envoy's test expects the error reply).
func TestEnvoyIntegration_OverrideMessageTimeout(t *testing.T) {
	slow := func(s *scriptStream) error {
		for req := s.recv(); req != nil; req = s.recv() {
			if kindOf(req) == "request_headers" {
				s.send(&extprocv3.ProcessingResponse{OverrideMessageTimeout: durationpb.New(2 * time.Second)})
				time.Sleep(150 * time.Millisecond)
			}
			s.send(reply(req, nil))
		}
		return nil
	}
	for _, max := range []time.Duration{0, 5 * time.Second} {
		t.Run(fmt.Sprintf("max_message_timeout=%v", max), func(t *testing.T) {
			h := newHarness(t, slow, func(c *Config) { c.MessageTimeout, c.MaxMessageTimeout = 50*time.Millisecond, max })
			r := h.do("GET", "/", "", nil)
			if want := map[bool]int{true: 504, false: 200}[max == 0]; r.status != want {
				t.Fatalf("status %d, want %d", r.status, want)
			}
		})
	}
}
