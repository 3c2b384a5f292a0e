package emu

import (
	"testing"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	extprocv3cfg "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
)

func TestSpec3_ContentLengthKeptWhenHeadersSentBuffered(t *testing.T) {
	h := newHarness(t, nil, nil)
	h.do("POST", "/", "12345", nil)
	if v, ok := headerValue(h.proc.messages()[0].GetRequestHeaders().GetHeaders(), "content-length"); !ok || v != "5" {
		t.Fatalf("content-length %q present %v", v, ok)
	}
	up := h.up.requests()[0]
	if up.contentLength != 5 || up.chunked {
		t.Fatalf("upstream content-length %d chunked %v", up.contentLength, up.chunked)
	}
}

func TestSpec3_ContentLengthStrippedWhenHeadersSkipped(t *testing.T) {
	h := newHarness(t, nil, func(c *Config) { c.ProcessingMode.RequestHeaderMode = extprocv3cfg.ProcessingMode_SKIP })
	h.do("POST", "/", "12345", nil)
	up := h.up.requests()[0]
	if !up.chunked || up.body != "12345" {
		t.Fatalf("upstream chunked=%v body %q: BUFFERED with header SKIP strips content-length", up.chunked, up.body)
	}
	if k := h.proc.kinds(); k[0] != "request_body" {
		t.Fatalf("first message %v", k)
	}
}

func TestSpec3_ContentLengthMismatchIs500EvenWithFMA(t *testing.T) {
	h := newHarness(t, mutateOn("request_body", &extprocv3.CommonResponse{BodyMutation: bodyMut("longer body")}),
		func(c *Config) { c.FailureModeAllow = true })
	r := h.do("POST", "/", "short", nil)
	if r.status != 500 || len(h.up.requests()) != 0 {
		t.Fatalf("status %d upstream %d", r.status, len(h.up.requests()))
	}
}

func TestSpec3_BodyReplacedWithExactContentLength(t *testing.T) {
	newBody := `{"signed":true}`
	h := newHarness(t, mutateOn("request_body", &extprocv3.CommonResponse{
		HeaderMutation: headerMut([]*corev3.HeaderValueOption{setRaw("content-length", "15"), setRaw("x-signature", "sig")}),
		BodyMutation:   bodyMut(newBody),
	}), nil)
	if r := h.do("POST", "/", "short", nil); r.status != 200 {
		t.Fatalf("status %d", r.status)
	}
	up := h.up.requests()[0]
	if up.body != newBody || up.contentLength != 15 || up.header.Get("X-Signature") != "sig" {
		t.Fatalf("upstream body %q cl %d headers %v", up.body, up.contentLength, up.header)
	}
}

func TestSpec3_ContentLengthRemovedMakesChunked(t *testing.T) {
	h := newHarness(t, mutateOn("request_body", &extprocv3.CommonResponse{
		HeaderMutation: headerMut(nil, "content-length"), BodyMutation: bodyMut("a new body")}), nil)
	h.do("POST", "/", "short", nil)
	if up := h.up.requests()[0]; !up.chunked || up.body != "a new body" {
		t.Fatalf("chunked %v body %q", up.chunked, up.body)
	}
}

func TestSpec3_ClearBody(t *testing.T) {
	cases := []struct {
		name   string
		cl     string
		status int
	}{
		{"content-length 0 set", "0", 200},
		{"content-length left at 5 mismatches", "", 500},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cr := &extprocv3.CommonResponse{BodyMutation: &extprocv3.BodyMutation{Mutation: &extprocv3.BodyMutation_ClearBody{ClearBody: true}}}
			if c.cl != "" {
				cr.HeaderMutation = headerMut([]*corev3.HeaderValueOption{setRaw("content-length", c.cl)})
			}
			h := newHarness(t, mutateOn("request_body", cr), nil)
			r := h.do("POST", "/", "12345", nil)
			if r.status != c.status {
				t.Fatalf("status %d", r.status)
			}
			if c.status == 200 && h.up.requests()[0].body != "" {
				t.Fatalf("body not cleared: %q", h.up.requests()[0].body)
			}
		})
	}
}

func TestSpec3_UnsetBodyMutationLeavesBody(t *testing.T) {
	h := newHarness(t, mutateOn("request_body", &extprocv3.CommonResponse{HeaderMutation: headerMut([]*corev3.HeaderValueOption{setRaw("x-a", "1")})}), nil)
	h.do("POST", "/", "orig", nil)
	if up := h.up.requests()[0]; up.body != "orig" || up.header.Get("X-A") != "1" {
		t.Fatalf("body %q header %q", up.body, up.header.Get("X-A"))
	}
}

func TestSpec3_ContinueAndReplaceOnHeaders(t *testing.T) {
	h := newHarness(t, mutateOn("request_headers", &extprocv3.CommonResponse{
		Status:         extprocv3.CommonResponse_CONTINUE_AND_REPLACE,
		HeaderMutation: headerMut([]*corev3.HeaderValueOption{setRaw("x-replaced", "yes")}),
		BodyMutation:   bodyMut("replacement"),
	}), nil)
	h.do("POST", "/", "original body", nil)
	up := h.up.requests()[0]
	if up.body != "replacement" || up.header.Get("X-Replaced") != "yes" || !up.chunked {
		t.Fatalf("upstream body %q header %v chunked %v", up.body, up.header, up.chunked)
	}
	if got := h.proc.kinds(); !equalStrings(got, []string{"request_headers", "response_headers", "response_body"}) {
		t.Fatalf("no request_body may follow CONTINUE_AND_REPLACE: %v", got)
	}
}

func TestSpec3_ResponseBodyReplaced(t *testing.T) {
	h := newHarness(t, mutateOn("response_body", &extprocv3.CommonResponse{
		HeaderMutation: headerMut([]*corev3.HeaderValueOption{setRaw("content-length", "9")}), BodyMutation: bodyMut("decrypted")}), nil)
	r := h.do("GET", "/", "", nil)
	if r.status != 200 || r.body != "decrypted" {
		t.Fatalf("client got %d %q", r.status, r.body)
	}
}

// routeCacheConfig has two clusters: /a -> "up", /b -> "other".
func routeCacheConfig(other string) func(*Config) {
	return func(c *Config) {
		c.VirtualHosts = []VirtualHost{
			{Name: "main", Domains: []string{"*"}, Routes: []Route{{Prefix: "/a", Cluster: "up"}, {Prefix: "/b", Cluster: "other"}}},
			{Name: "provider", Domains: []string{"provider.test"}, Routes: []Route{{Prefix: "/", Cluster: "other"}}},
		}
		c.Clusters["other"] = Cluster{Endpoints: []string{other}}
	}
}

func TestSpec3_ClearRouteCacheReselectsRoute(t *testing.T) {
	cases := []struct {
		name    string
		cr      *extprocv3.CommonResponse
		rules   *MutationRules
		toOther bool
	}{
		{"path change without clear keeps route", &extprocv3.CommonResponse{HeaderMutation: headerMut([]*corev3.HeaderValueOption{setRaw(":path", "/b/x")})}, nil, false},
		{"path change with clear re-routes", &extprocv3.CommonResponse{ClearRouteCache: true, HeaderMutation: headerMut([]*corev3.HeaderValueOption{setRaw(":path", "/b/x")})}, nil, true},
		{"authority change with clear picks new virtual host", &extprocv3.CommonResponse{ClearRouteCache: true, HeaderMutation: headerMut([]*corev3.HeaderValueOption{setRaw(":authority", "provider.test")})}, &MutationRules{AllowAllRouting: true}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			other := startUpstream(t, "other", nil)
			h := newHarness(t, mutateOn("request_headers", c.cr), func(cfg *Config) {
				routeCacheConfig(other.addr())(cfg)
				cfg.MutationRules = c.rules
			})
			r := h.do("GET", "/a/x", "", nil)
			if got := r.header.Get("X-Upstream") == "other"; got != c.toOther {
				t.Fatalf("reached %q", r.header.Get("X-Upstream"))
			}
		})
	}
}

func TestSpec3_ClearRouteCacheNeedsHeaderMutation(t *testing.T) {
	other := startUpstream(t, "other", nil)
	h := newHarness(t, mutateOn("request_body", &extprocv3.CommonResponse{ClearRouteCache: true}), routeCacheConfig(other.addr()))
	h.do("POST", "/a", "x", nil)
	if h.emu.Stats().RouteCacheClears != 0 {
		t.Fatal("clear_route_cache without header_mutation must be ignored")
	}
}
