package emu

import (
	"testing"

	extprocv3cfg "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
)

// overrideOn answers the first message of kind with mode_override m.
func overrideOn(kind string, m *extprocv3cfg.ProcessingMode) script {
	return onKind(kind, func(req *extprocv3.ProcessingRequest) *extprocv3.ProcessingResponse {
		resp := reply(req, nil)
		resp.ModeOverride = m
		return resp
	})
}

func TestSpec5_ModeOverride(t *testing.T) {
	buffered := extprocv3cfg.ProcessingMode_BUFFERED
	onlyRequestBody := &extprocv3cfg.ProcessingMode{RequestBodyMode: buffered}
	skipResponse := &extprocv3cfg.ProcessingMode{RequestBodyMode: buffered, ResponseHeaderMode: extprocv3cfg.ProcessingMode_SKIP}
	cases := []struct {
		name    string
		on      string
		m       *extprocv3cfg.ProcessingMode
		allow   bool
		allowed []*extprocv3cfg.ProcessingMode
		want    []string
	}{
		{"ignored unless allow_mode_override", "request_headers", skipResponse, false, nil,
			[]string{"request_headers", "request_body", "response_headers", "response_body"}},
		{"body modes literal: unset response body means NONE", "request_headers", onlyRequestBody, true, nil,
			[]string{"request_headers", "request_body", "response_headers"}},
		{"skip response headers", "request_headers", skipResponse, true, nil,
			[]string{"request_headers", "request_body"}},
		{"ignored on body responses", "request_body", skipResponse, true, nil,
			[]string{"request_headers", "request_body", "response_headers", "response_body"}},
		{"not in allowed_override_modes", "request_headers", skipResponse, true, []*extprocv3cfg.ProcessingMode{onlyRequestBody},
			[]string{"request_headers", "request_body", "response_headers", "response_body"}},
		{"in allowed_override_modes", "request_headers", skipResponse, true, []*extprocv3cfg.ProcessingMode{onlyRequestBody, skipResponse},
			[]string{"request_headers", "request_body"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, overrideOn(c.on, c.m), func(cfg *Config) {
				cfg.AllowModeOverride = c.allow
				cfg.AllowedOverrideModes = c.allowed
			})
			if r := h.do("POST", "/", "b", nil); r.status != 200 {
				t.Fatalf("status %d", r.status)
			}
			if got := h.proc.kinds(); !equalStrings(got, c.want) {
				t.Fatalf("messages %v, want %v", got, c.want)
			}
		})
	}
}

func TestSpec5_PerRouteConfig(t *testing.T) {
	headersOnly := &extprocv3cfg.ProcessingMode{ResponseHeaderMode: extprocv3cfg.ProcessingMode_SKIP}
	cases := []struct {
		name string
		pr   *ExtProcPerRoute
		want []string
	}{
		{"disabled", &ExtProcPerRoute{Disabled: true}, nil},
		{"processing_mode override", &ExtProcPerRoute{ProcessingMode: headersOnly}, []string{"request_headers"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, nil, func(cfg *Config) { cfg.VirtualHosts[0].Routes[0].ExtProc = c.pr })
			if r := h.do("POST", "/", "b", nil); r.status != 200 || h.up.requests()[0].body != "b" {
				t.Fatalf("status %d", r.status)
			}
			if got := h.proc.kinds(); !equalStrings(got, c.want) {
				t.Fatalf("messages %v, want %v", got, c.want)
			}
		})
	}
}
