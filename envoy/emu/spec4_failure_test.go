package emu

import (
	"errors"
	"net"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	extprocv3cfg "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func immediate(code typev3.StatusCode, body string) *extprocv3.ProcessingResponse {
	return &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_ImmediateResponse{ImmediateResponse: &extprocv3.ImmediateResponse{
		Status: &typev3.HttpStatus{Code: code}, Body: []byte(body), Details: "denied_by_test",
		Headers: headerMut([]*corev3.HeaderValueOption{setRaw("x-reason", "policy")}),
	}}}
}

func TestSpec4_ImmediateResponse(t *testing.T) {
	cases := []struct {
		name, on   string
		code       typev3.StatusCode
		wantStatus int
		wantKinds  []string
	}{
		{"on request headers", "request_headers", typev3.StatusCode_Forbidden, 403, []string{"request_headers"}},
		{"on request body", "request_body", typev3.StatusCode_Unauthorized, 401, []string{"request_headers", "request_body"}},
		{"on response headers", "response_headers", typev3.StatusCode_BadGateway, 502, []string{"request_headers", "request_body", "response_headers"}},
		{"status below 200 becomes 200", "request_headers", typev3.StatusCode_Continue, 200, []string{"request_headers"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, onKind(c.on, func(*extprocv3.ProcessingRequest) *extprocv3.ProcessingResponse { return immediate(c.code, "nope") }), nil)
			r := h.do("POST", "/", "body", nil)
			if r.status != c.wantStatus || r.body != "nope" || r.header.Get("X-Reason") != "policy" {
				t.Fatalf("client got %d %q %v", r.status, r.body, r.header)
			}
			if got := h.proc.kinds(); !equalStrings(got, c.wantKinds) {
				t.Fatalf("messages %v, want %v (nothing after an ImmediateResponse)", got, c.wantKinds)
			}
			if c.on != "response_headers" && len(h.up.requests()) != 0 {
				t.Fatal("upstream reached")
			}
		})
	}
}

func TestSpec4_CleanCloseContinuesUnmodified(t *testing.T) {
	for _, fma := range []bool{false, true} {
		t.Run(map[bool]string{false: "fma off", true: "fma on"}[fma], func(t *testing.T) {
			closeOnBody := onKind("request_body", func(*extprocv3.ProcessingRequest) *extprocv3.ProcessingResponse { return nil })
			h := newHarness(t, closeOnBody, func(c *Config) { c.FailureModeAllow = fma })
			r := h.do("POST", "/", "plaintext", nil)
			if r.status != 200 || h.up.requests()[0].body != "plaintext" {
				t.Fatalf("status %d; an OK close must let the unmodified body through", r.status)
			}
			if got := h.proc.kinds(); !equalStrings(got, []string{"request_headers", "request_body"}) {
				t.Fatalf("messages after close: %v", got)
			}
		})
	}
}

func TestSpec4_GrpcErrorStatusOnErrorOrFMA(t *testing.T) {
	failing := func(s *scriptStream) error {
		s.recv()
		return status.Error(codes.Unavailable, "keystore down")
	}
	cases := []struct {
		name       string
		fma        bool
		statusErr  int
		wantStatus int
		upstream   bool
	}{
		{"no fma gives 500", false, 0, 500, false},
		{"status_on_error honoured", false, 503, 503, false},
		{"fma continues unprocessed", true, 0, 200, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, failing, func(cfg *Config) { cfg.FailureModeAllow = c.fma; cfg.StatusOnError = c.statusErr })
			r := h.do("POST", "/", "b", nil)
			if r.status != c.wantStatus || (len(h.up.requests()) > 0) != c.upstream {
				t.Fatalf("status %d upstream %d", r.status, len(h.up.requests()))
			}
		})
	}
}

func TestSpec4_StreamCannotOpen(t *testing.T) {
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := l.Addr().String()
	_ = l.Close()
	for _, fma := range []bool{false, true} {
		h := newHarness(t, nil, func(c *Config) { c.ExtProcAddress = dead; c.FailureModeAllow = fma })
		r := h.do("GET", "/", "", nil)
		want := map[bool]int{false: 500, true: 200}[fma]
		if r.status != want {
			t.Fatalf("fma=%v: status %d, want %d", fma, r.status, want)
		}
	}
}

func TestSpec4_MessageTimeout(t *testing.T) {
	slow := onKind("request_body", func(req *extprocv3.ProcessingRequest) *extprocv3.ProcessingResponse {
		time.Sleep(400 * time.Millisecond) // over the 200 ms default
		return reply(req, nil)
	})
	cases := []struct {
		fma  bool
		want int
	}{{false, 504}, {true, 200}}
	for _, c := range cases {
		h := newHarness(t, slow, func(cfg *Config) { cfg.FailureModeAllow = c.fma })
		r := h.do("POST", "/", "b", nil)
		if r.status != c.want || h.emu.Stats().MessageTimeouts != 1 {
			t.Fatalf("fma=%v: status %d timeouts %d", c.fma, r.status, h.emu.Stats().MessageTimeouts)
		}
	}
}

func TestSpec4_SpuriousResponsesFailClosed(t *testing.T) {
	cases := []struct {
		name string
		run  script
	}{
		{"mismatched type", func(s *scriptStream) error {
			req := s.recv()
			s.send(reply(&extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_RequestBody{}}, nil))
			_ = req
			continueAll(s)
			return nil
		}},
		{"empty oneof", func(s *scriptStream) error {
			s.recv()
			s.send(&extprocv3.ProcessingResponse{})
			return continueAll(s)
		}},
		{"two responses to one message", func(s *scriptStream) error {
			req := s.recv()
			s.send(reply(req, nil))
			s.send(reply(req, nil))
			return continueAll(s)
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, c.run, func(cfg *Config) { cfg.FailureModeAllow = true })
			r := h.do("POST", "/", "b", nil)
			if r.status != 500 || len(h.up.requests()) != 0 {
				t.Fatalf("status %d upstream %d", r.status, len(h.up.requests()))
			}
		})
	}
}

func TestSpec4_ConfigRejectedAtLoad(t *testing.T) {
	fd := extprocv3cfg.ProcessingMode_FULL_DUPLEX_STREAMED
	cases := []struct {
		name string
		cfg  Config
		want error
	}{
		{"no service", Config{}, ErrInvalidConfig},
		{"two services", Config{ExtProcAddress: "127.0.0.1:1", ExtProcConn: fakeConn{}}, ErrInvalidConfig},
		{"full duplex without trailer SEND", Config{ExtProcAddress: "127.0.0.1:1", ProcessingMode: &extprocv3cfg.ProcessingMode{RequestBodyMode: fd}}, ErrInvalidConfig},
		{"full duplex with fma", Config{ExtProcAddress: "127.0.0.1:1", FailureModeAllow: true, ProcessingMode: &extprocv3cfg.ProcessingMode{RequestBodyMode: fd, RequestTrailerMode: extprocv3cfg.ProcessingMode_SEND}}, ErrInvalidConfig},
		{"streamed not emulated", Config{ExtProcAddress: "127.0.0.1:1", ProcessingMode: &extprocv3cfg.ProcessingMode{RequestBodyMode: extprocv3cfg.ProcessingMode_STREAMED}}, ErrUnsupported},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e, err := New(c.cfg)
			if !errors.Is(err, c.want) {
				t.Fatalf("err %v, want %v", err, c.want)
			}
			if e != nil {
				_ = e.Close()
			}
		})
	}
}
