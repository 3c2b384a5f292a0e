package emu

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	extprocv3cfg "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// Conformance tests for docs/envoy-ext-proc.md section 9 (the second reading of Envoy's source).

// trailersOnly is an HTTP/2 request with HEADERS then trailers and no DATA frame (Go's HTTP/2
// client sends no DATA for an empty body that has trailers).
func trailersOnly(t *testing.T, url string) *http.Request {
	t.Helper()
	req, err := http.NewRequest("POST", url+"/pay", io.NopCloser(strings.NewReader("")))
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = -1
	req.Trailer = http.Header{"X-Checksum": {"abc"}}
	return req
}

// Filter::onTrailers sends a body message only when data was buffered; with no DATA there is
// none. With trailer mode SKIP Envoy continues with the held headers; with SEND the trailers
// go to the processor (and an ImmediateResponse there stops the request).
func TestSpec9_NoDataRequestSendsNoBodyMessage(t *testing.T) {
	t.Run("trailers SKIP: continues", func(t *testing.T) {
		h := newHarness(t, nil, nil)
		r := h.sendH2(trailersOnly(t, h.h2URL()))
		if got := h.proc.kinds(); !equalStrings(got, []string{"request_headers", "response_headers", "response_body"}) {
			t.Fatalf("messages %v: no request_body may be invented for a request without DATA", got)
		}
		if r.status != 200 || len(h.up.requests()) != 1 {
			t.Fatalf("status %d, %d upstream requests: Envoy continues with the held headers", r.status, len(h.up.requests()))
		}
	})
	t.Run("trailers SEND: refused at trailers", func(t *testing.T) {
		refuse := onKind("request_trailers", func(*extprocv3.ProcessingRequest) *extprocv3.ProcessingResponse {
			return immediate(typev3.StatusCode_BadRequest, "no")
		})
		h := newHarness(t, refuse, func(c *Config) { c.ProcessingMode.RequestTrailerMode = extprocv3cfg.ProcessingMode_SEND })
		r := h.sendH2(trailersOnly(t, h.h2URL()))
		if got := h.proc.kinds(); !equalStrings(got, []string{"request_headers", "request_trailers"}) {
			t.Fatalf("messages %v", got)
		}
		if r.status != 400 || len(h.up.requests()) != 0 {
			t.Fatalf("status %d, %d upstream requests", r.status, len(h.up.requests()))
		}
	})
}

// Envoy's HTTP/1 codec drops request trailers unless enable_trailers is set: the body message
// carries end_of_stream and no request_trailers message is sent even in SEND mode.
func TestSpec9_HTTP1RequestTrailersDropped(t *testing.T) {
	h := newHarness(t, nil, func(c *Config) { c.ProcessingMode.RequestTrailerMode = extprocv3cfg.ProcessingMode_SEND })
	req, _ := http.NewRequest("POST", h.front.URL+"/", io.NopCloser(strings.NewReader("payload")))
	req.ContentLength = -1
	req.Trailer = http.Header{"X-Checksum": {"abc"}}
	h.send(req)
	msgs := h.proc.messages()
	if kindOf(msgs[1]) != "request_body" || !msgs[1].GetRequestBody().GetEndOfStream() {
		t.Fatalf("HTTP/1 body must end the stream (trailers dropped): %v", h.proc.kinds())
	}
	for _, m := range msgs {
		if kindOf(m) == "request_trailers" {
			t.Fatal("request_trailers sent for HTTP/1 trailers")
		}
	}
}

// ServerConnectionImpl::handlePath (allow_absolute_url, default true) splits an absolute-form
// target into :authority and :path.
func TestSpec9_AbsoluteFormSplitIntoAuthorityAndPath(t *testing.T) {
	h := newHarness(t, nil, func(c *Config) {
		c.VirtualHosts = []VirtualHost{{Name: "pay", Domains: []string{"pay.egress.local"}, Routes: []Route{{Prefix: "/v1/", Cluster: "up"}}}}
	})
	conn, err := net.Dial("tcp", strings.TrimPrefix(h.front.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprint(conn, "POST http://pay.egress.local/v1/charge?x=1 HTTP/1.1\r\nHost: pay.egress.local\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}")
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: the proxy-style request was not routed", resp.StatusCode)
	}
	hdrs := h.proc.messages()[0].GetRequestHeaders().GetHeaders()
	if p, _ := headerValue(hdrs, ":path"); p != "/v1/charge?x=1" {
		t.Errorf(":path %q", p)
	}
	if a, _ := headerValue(hdrs, ":authority"); a != "pay.egress.local" {
		t.Errorf(":authority %q", a)
	}
	if got := h.up.requests()[0].uri; got != "/v1/charge?x=1" {
		t.Errorf("upstream saw %q", got)
	}
}

// Filter::onData returns StopIterationAndBuffer while the headers response is pending in
// BUFFERED mode: data is buffered against the limit (413) even when the response then turns
// body processing off. The emulator takes the whole body as arriving in that window.
func TestSpec9_BodyDuringHeadersRoundTripCountsAgainstTheLimit(t *testing.T) {
	off := onKind("request_headers", func(req *extprocv3.ProcessingRequest) *extprocv3.ProcessingResponse {
		r := reply(req, nil)
		r.ModeOverride = &extprocv3cfg.ProcessingMode{RequestBodyMode: extprocv3cfg.ProcessingMode_NONE}
		return r
	})
	h := newHarness(t, off, func(c *Config) { c.AllowModeOverride, c.BufferLimit = true, 64 })
	req, _ := http.NewRequest("POST", h.front.URL+"/", io.NopCloser(strings.NewReader(strings.Repeat("x", 100))))
	req.ContentLength = -1
	if r := h.send(req); r.status != 413 {
		t.Fatalf("status %d, want 413", r.status)
	}
	if len(h.up.requests()) != 0 {
		t.Fatal("upstream reached")
	}
}

// Filter::sendImmediateResponse applies the header mutation with the filter's checker; on a
// failure applyHeaderMutations stops there, Envoy logs, and the reply is still sent.
func TestSpec9_ImmediateResponseMutationStopsAtFirstFailure(t *testing.T) {
	ir := &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_ImmediateResponse{ImmediateResponse: &extprocv3.ImmediateResponse{
		Status: &typev3.HttpStatus{Code: typev3.StatusCode_Unauthorized}, Body: []byte("denied"), Details: "denied by test",
		Headers: headerMut([]*corev3.HeaderValueOption{setRaw("x-a", "1"), setRaw("x-envoy-peer", "2"), setRaw("x-b", "3")}),
	}}}
	for _, isErr := range []bool{true, false} {
		t.Run(fmt.Sprintf("disallow_is_error=%v", isErr), func(t *testing.T) {
			h := newHarness(t, onKind("request_headers", func(*extprocv3.ProcessingRequest) *extprocv3.ProcessingResponse { return ir }),
				func(c *Config) { c.MutationRules = &MutationRules{DisallowIsError: isErr} })
			r := h.do("POST", "/", "b", nil)
			if r.status != 401 || r.body != "denied" || r.header.Get("X-A") != "1" || r.header.Get("X-Envoy-Peer") != "" {
				t.Fatalf("got %d %q %v", r.status, r.body, r.header)
			}
			if got := r.header.Get("X-B") != ""; got == isErr {
				t.Fatalf("x-b present=%v: after a failed mutation nothing more is applied, after an ignored one the rest is", got)
			}
			if h.replies[0] != "denied_by_test" {
				t.Errorf("details %q: whitespace becomes '_' (replaceAllEmptySpace)", h.replies[0])
			}
		})
	}
}

// Filter::onMessageTimeout and Filter::onGrpcError details strings.
func TestSpec9_LocalReplyDetails(t *testing.T) {
	t.Run("message timeout", func(t *testing.T) {
		stall := func(s *scriptStream) error { s.recv(); time.Sleep(300 * time.Millisecond); return nil }
		h := newHarness(t, stall, func(c *Config) { c.MessageTimeout = 50 * time.Millisecond })
		if r := h.do("GET", "/", "", nil); r.status != 504 {
			t.Fatalf("status %d", r.status)
		}
		if h.replies[0] != "ext_proc_error_per-message_timeout_exceeded" {
			t.Errorf("details %q", h.replies[0])
		}
	})
	t.Run("gRPC error", func(t *testing.T) {
		fail := func(s *scriptStream) error { s.recv(); return status.Error(codes.PermissionDenied, "no way") }
		h := newHarness(t, fail, nil)
		if r := h.do("GET", "/", "", nil); r.status != 500 {
			t.Fatalf("status %d", r.status)
		}
		if h.replies[0] != "ext_proc_error_gRPC_error_7{no_way}" {
			t.Errorf("details %q", h.replies[0])
		}
	})
}

// MutationUtils::responseHeaderSizeCheck counts removals with sets against max_headers_count.
func TestSpec9_HeaderCountCheckCountsRemovals(t *testing.T) {
	// One set of an existing header and ten removals of absent ones: the request keeps its 8
	// headers (under the limit of 10), but the mutation has 11 entries.
	remove := []string{"x-r0", "x-r1", "x-r2", "x-r3", "x-r4", "x-r5", "x-r6", "x-r7", "x-r8", "x-r9"}
	mut := headerMut([]*corev3.HeaderValueOption{setRaw("user-agent", "ua")}, remove...)
	h := newHarness(t, mutateOn("request_headers", &extprocv3.CommonResponse{HeaderMutation: mut}),
		func(c *Config) { c.MaxHeadersCount = 10 })
	if r := h.do("GET", "/", "", nil); r.status != 500 {
		t.Fatalf("status %d: 1 set + 10 removals exceed a limit of 10", r.status)
	}
	if len(h.up.requests()) != 0 {
		t.Fatal("upstream reached")
	}
}

// effectiveModeOverride: DEFAULT header/trailer modes in a mode_override take the filter's value.
func TestSpec9_DefaultModesInOverrideTakeTheFilterValue(t *testing.T) {
	override := onKind("request_headers", func(req *extprocv3.ProcessingRequest) *extprocv3.ProcessingResponse {
		r := reply(req, nil)
		r.ModeOverride = &extprocv3cfg.ProcessingMode{RequestBodyMode: extprocv3cfg.ProcessingMode_BUFFERED}
		return r
	})
	h := newHarness(t, override, func(c *Config) {
		c.AllowModeOverride = true
		c.ProcessingMode.ResponseHeaderMode = extprocv3cfg.ProcessingMode_SKIP
	})
	h.do("POST", "/", "b", nil)
	if got := h.proc.kinds(); !equalStrings(got, []string{"request_headers", "request_body"}) {
		t.Fatalf("messages %v: DEFAULT response_header_mode must take the filter's SKIP", got)
	}
}

// The router adds x-envoy-* headers (x-envoy-original-host on a host rewrite: updateAuthority;
// x-envoy-expected-rq-timeout-ms: finalTimeout; x-envoy-upstream-service-time downstream)
// unless its suppress_envoy_headers is set.
func TestSpec9_RouterEnvoyHeadersUnlessSuppressed(t *testing.T) {
	for _, suppress := range []bool{false, true} {
		t.Run(fmt.Sprintf("suppress=%v", suppress), func(t *testing.T) {
			h := newHarness(t, nil, func(c *Config) {
				c.SuppressEnvoyHeaders = suppress
				c.VirtualHosts[0].Routes[0].HostRewriteLiteral = "api.provider.example"
			})
			r := h.do("GET", "/", "", map[string]string{"host": "pay.egress.local"})
			seen := h.up.requests()[0]
			got := map[string]string{
				"x-envoy-original-host":          seen.header.Get("X-Envoy-Original-Host"),
				"x-envoy-expected-rq-timeout-ms": seen.header.Get("X-Envoy-Expected-Rq-Timeout-Ms"),
				"x-envoy-upstream-service-time":  r.header.Get("X-Envoy-Upstream-Service-Time"),
			}
			if seen.host != "api.provider.example" {
				t.Errorf("host %q", seen.host)
			}
			for name, v := range got {
				if (v == "") != suppress {
					t.Errorf("%s = %q with suppress_envoy_headers %v", name, v, suppress)
				}
			}
			if !suppress && got["x-envoy-original-host"] != "pay.egress.local" {
				t.Errorf("x-envoy-original-host %q", got["x-envoy-original-host"])
			}
		})
	}
}

// grpc_service.initial_metadata goes with every Process stream (Envoy's gRPC client adds it to
// the stream's initial metadata): what lets a processor tell its filters apart, since a
// caller cannot set it.
func TestSpec9_GrpcInitialMetadata(t *testing.T) {
	var got []string
	record := func(s *scriptStream) error {
		md, _ := metadata.FromIncomingContext(s.srv.Context())
		got = append(got, md.Get("x-keygate-phase")...)
		return continueAll(s)
	}
	h := newHarness(t, record, func(c *Config) { c.InitialMetadata = [][2]string{{"x-keygate-phase", "upstream"}} })
	h.do("GET", "/", "", map[string]string{"x-keygate-phase": "forged"})
	if !equalStrings(got, []string{"upstream"}) {
		t.Fatalf("metadata %v", got)
	}
}
