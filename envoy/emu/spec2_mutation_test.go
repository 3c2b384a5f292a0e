package emu

import (
	"strings"
	"testing"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
)

// requestMutation runs a GET whose request_headers reply carries m, and returns the client
// result, the upstream request (nil if none) and the harness.
func requestMutation(t *testing.T, m *extprocv3.HeaderMutation, edit func(*Config), hdr map[string]string) (result, *seenRequest, *harness) {
	t.Helper()
	h := newHarness(t, mutateOn("request_headers", &extprocv3.CommonResponse{HeaderMutation: m}), edit)
	r := h.do("GET", "/orig", "", hdr)
	reqs := h.up.requests()
	if len(reqs) == 0 {
		return r, nil, h
	}
	return r, &reqs[0], h
}

func TestSpec2_DefaultRulesIgnoreRoutingAndEnvoyHeaders(t *testing.T) {
	cases := []struct{ key, value string }{
		{"host", "evil.example"}, {":authority", "evil.example"}, {":method", "DELETE"},
		{":scheme", "https"}, {"x-envoy-original-path", "/x"},
	}
	for _, c := range cases {
		t.Run(c.key, func(t *testing.T) {
			r, up, h := requestMutation(t, headerMut([]*corev3.HeaderValueOption{setRaw(c.key, c.value)}), nil, map[string]string{"Host": "svc.local"})
			if r.status != 200 || up == nil {
				t.Fatalf("status %d", r.status)
			}
			if up.host != "svc.local" || up.method != "GET" || up.header.Get("X-Envoy-Original-Path") != "" {
				t.Fatalf("routing header changed: host %q method %q", up.host, up.method)
			}
			if h.emu.Stats().RejectedHeaderMutations != 1 {
				t.Fatalf("rejected_header_mutations = %d", h.emu.Stats().RejectedHeaderMutations)
			}
		})
	}
}

func TestSpec2_PathMayBeSet(t *testing.T) {
	_, up, _ := requestMutation(t, headerMut([]*corev3.HeaderValueOption{setRaw(":path", "/new?q=2")}), nil, nil)
	if up.uri != "/new?q=2" {
		t.Fatalf("upstream path %q", up.uri)
	}
}

func TestSpec2_AllowAllRoutingChangesAuthority(t *testing.T) {
	_, up, _ := requestMutation(t, headerMut([]*corev3.HeaderValueOption{setRaw(":authority", "api.provider.test")}),
		func(c *Config) { c.MutationRules = &MutationRules{AllowAllRouting: true} }, nil)
	if up.host != "api.provider.test" {
		t.Fatalf("upstream Host %q", up.host)
	}
}

func TestSpec2_CheckOrder(t *testing.T) {
	cases := []struct {
		name    string
		rules   MutationRules
		key     string
		allowed bool
	}{
		{"disallow_expression beats allow_expression", MutationRules{AllowExpression: "x-.*", DisallowExpression: "x-sig"}, "x-sig", false},
		{"allow_expression beats disallow_all", MutationRules{AllowExpression: "x-sig", DisallowAll: true}, "x-sig", true},
		{"disallow_all", MutationRules{DisallowAll: true}, "x-sig", false},
		{"allow_expression beats routing", MutationRules{AllowExpression: ":method"}, ":method", true},
		{"allow_envoy", MutationRules{AllowEnvoy: true}, "x-envoy-foo", true},
		{"disallow_system blocks :path", MutationRules{DisallowSystem: true}, ":path", false},
		{"plain header allowed", MutationRules{}, "x-sig", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rules := c.rules
			value := "v1"
			if c.key == ":method" {
				value = "POST"
			} else if c.key == ":path" {
				value = "/changed"
			}
			_, up, h := requestMutation(t, headerMut([]*corev3.HeaderValueOption{setRaw(c.key, value)}), func(cfg *Config) { cfg.MutationRules = &rules }, nil)
			var got bool
			switch c.key {
			case ":method":
				got = up.method == "POST"
			case ":path":
				got = up.uri == "/changed"
			default:
				got = up.header.Get(c.key) == "v1"
			}
			if got != c.allowed {
				t.Fatalf("applied=%v want %v (rejected=%d)", got, c.allowed, h.emu.Stats().RejectedHeaderMutations)
			}
		})
	}
}

func TestSpec2_RemovingPseudoOrHostNeverAllowed(t *testing.T) {
	for _, key := range []string{":path", ":authority", "host", ":method"} {
		t.Run(key, func(t *testing.T) {
			r, up, h := requestMutation(t, headerMut(nil, key), func(c *Config) { c.MutationRules = &MutationRules{AllowAllRouting: true} }, nil)
			if r.status != 200 || up.uri != "/orig" || up.method != "GET" {
				t.Fatalf("status %d uri %q", r.status, up.uri)
			}
			if h.emu.Stats().RejectedHeaderMutations != 1 {
				t.Fatalf("rejected %d", h.emu.Stats().RejectedHeaderMutations)
			}
		})
	}
}

func TestSpec2_DisallowIsErrorGives500(t *testing.T) {
	r, up, _ := requestMutation(t, headerMut([]*corev3.HeaderValueOption{setRaw("host", "x")}),
		func(c *Config) { c.MutationRules = &MutationRules{DisallowIsError: true} }, nil)
	if r.status != 500 || up != nil {
		t.Fatalf("status %d, upstream reached %v", r.status, up != nil)
	}
}

func TestSpec2_HardErrorsIgnoreFailureModeAllow(t *testing.T) {
	tooMany := make([]*corev3.HeaderValueOption, 101)
	for i := range tooMany {
		tooMany[i] = setRaw("x-h"+strings.Repeat("a", i), "v")
	}
	cases := []struct {
		name string
		m    *extprocv3.HeaderMutation
	}{
		{"invalid name", headerMut([]*corev3.HeaderValueOption{setRaw("bad header", "v")})},
		{"invalid value", headerMut([]*corev3.HeaderValueOption{setRaw("x-a", "v\r\nx-b: 1")})},
		{"value and raw_value", headerMut([]*corev3.HeaderValueOption{{Header: &corev3.HeaderValue{Key: "x-a", Value: "v", RawValue: []byte("v")}}})},
		{"invalid remove", headerMut(nil, "bad header")},
		{"over header count", headerMut(tooMany)},
		{"over size after mutation", headerMut([]*corev3.HeaderValueOption{setRaw("x-big", strings.Repeat("a", 61*1024))})},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, up, _ := requestMutation(t, c.m, func(cfg *Config) { cfg.FailureModeAllow = true }, nil)
			if r.status != 500 || up != nil {
				t.Fatalf("status %d, upstream reached %v", r.status, up != nil)
			}
		})
	}
}

func TestSpec2_ValueOnlySetsEmpty(t *testing.T) {
	_, up, _ := requestMutation(t, headerMut([]*corev3.HeaderValueOption{{Header: &corev3.HeaderValue{Key: "x-sig", Value: "abc"}}}), nil, nil)
	v, ok := up.header["X-Sig"]
	if !ok || len(v) != 1 || v[0] != "" {
		t.Fatalf("x-sig = %q (present %v), want empty (envoy issue 31555)", v, ok)
	}
}

func TestSpec2_LegacyAppendOnly(t *testing.T) {
	withAction := setRaw("x-a", "new")
	withAction.AppendAction = corev3.HeaderValueOption_APPEND_IF_EXISTS_OR_ADD // ignored by Envoy's ext_proc
	cases := []struct {
		name string
		opt  *corev3.HeaderValueOption
		want []string
	}{
		{"default replaces", setRaw("x-a", "new"), []string{"new"}},
		{"append_action ignored", withAction, []string{"new"}},
		{"append true adds", appendRaw("x-a", "new"), []string{"old", "new"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, up, _ := requestMutation(t, headerMut([]*corev3.HeaderValueOption{c.opt}), nil, map[string]string{"X-A": "old"})
			if got := up.header.Values("X-A"); !equalStrings(got, c.want) {
				t.Fatalf("x-a = %v, want %v", got, c.want)
			}
		})
	}
}

func TestSpec2_AppendToPseudoHeaderDisallowed(t *testing.T) {
	_, up, h := requestMutation(t, headerMut([]*corev3.HeaderValueOption{appendRaw(":path", "/x")}), nil, nil)
	if up.uri != "/orig" || h.emu.Stats().RejectedHeaderMutations != 1 {
		t.Fatalf("uri %q rejected %d", up.uri, h.emu.Stats().RejectedHeaderMutations)
	}
}

func TestSpec2_RemovalsBeforeSets(t *testing.T) {
	_, up, _ := requestMutation(t, headerMut([]*corev3.HeaderValueOption{setRaw("x-a", "kept")}, "x-a"), nil, map[string]string{"X-A": "old"})
	if got := up.header.Values("X-A"); !equalStrings(got, []string{"kept"}) {
		t.Fatalf("x-a = %v", got)
	}
}

func TestSpec2_ResponseHeaderMutation(t *testing.T) {
	h := newHarness(t, mutateOn("response_headers", &extprocv3.CommonResponse{HeaderMutation: headerMut(
		[]*corev3.HeaderValueOption{setRaw("x-added", "1"), setRaw(":status", "201")}, "x-upstream")}), nil)
	r := h.do("GET", "/", "", nil)
	if r.status != 201 || r.header.Get("X-Added") != "1" || r.header.Get("X-Upstream") != "" {
		t.Fatalf("client got %d %v", r.status, r.header)
	}
}
