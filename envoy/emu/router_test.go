package emu

import (
	"net/http"
	"testing"
	"time"
)

func TestRouter_VirtualHostByDomain(t *testing.T) {
	cases := []struct{ host, want string }{
		{"api.example.com", "exact"},
		{"foo.example.com", "suffix"},
		{"a.b.example.com", "suffix"},
		{"internal.corp", "prefix"},
		{"api.example.com:8080", "any"}, // Envoy does not strip the port by default
		{"other.test", "any"},
	}
	tbl, err := compileRoutes([]VirtualHost{
		{Name: "exact", Domains: []string{"api.example.com"}, Routes: []Route{{Prefix: "/", Cluster: "exact"}}},
		{Name: "suffix", Domains: []string{"*.example.com"}, Routes: []Route{{Prefix: "/", Cluster: "suffix"}}},
		{Name: "prefix", Domains: []string{"internal.*"}, Routes: []Route{{Prefix: "/", Cluster: "prefix"}}},
		{Name: "any", Domains: []string{"*"}, Routes: []Route{{Prefix: "/", Cluster: "any"}}},
	}, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		h := headerMap{entries: []headerEntry{{":authority", c.host}, {":path", "/"}}}
		if r := tbl.match(&h); r == nil || r.Cluster != c.want {
			t.Fatalf("%s -> %v, want %s", c.host, r, c.want)
		}
	}
	tbl.ignorePort = true
	h := headerMap{entries: []headerEntry{{":authority", "api.example.com:8080"}, {":path", "/"}}}
	if r := tbl.match(&h); r.Cluster != "exact" {
		t.Fatalf("ignore_port_in_host_matching: got %s", r.Cluster)
	}
	if _, err := compileRoutes([]VirtualHost{{Name: "a", Domains: []string{"x"}}, {Name: "b", Domains: []string{"x"}}}, false); err == nil {
		t.Fatal("duplicate domains must be rejected")
	}
}

func TestRouter_RouteTimeoutIs504(t *testing.T) {
	slow := startUpstream(t, "slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(2 * time.Second):
		case <-r.Context().Done():
		}
	})
	h := newHarness(t, nil, func(c *Config) {
		c.Clusters["up"] = Cluster{Endpoints: []string{slow.addr()}}
		c.VirtualHosts[0].Routes[0].Timeout = Duration(100 * time.Millisecond)
	})
	r := h.do("POST", "/", "b", nil)
	if r.status != 504 || r.body != "upstream request timeout" {
		t.Fatalf("client got %d %q", r.status, r.body)
	}
	if got := h.proc.kinds(); !equalStrings(got, []string{"request_headers", "request_body", "response_headers", "response_body"}) {
		t.Fatalf("local reply must go through ext_proc: %v", got)
	}
	if v := slow.requests()[0].header.Get("X-Envoy-Expected-Rq-Timeout-Ms"); v != "100" {
		t.Fatalf("x-envoy-expected-rq-timeout-ms %q", v)
	}
}

func TestRouter_ConnectFailureIs503(t *testing.T) {
	h := newHarness(t, nil, func(c *Config) { c.Clusters["up"] = Cluster{Endpoints: []string{"127.0.0.1:1"}} })
	if r := h.do("GET", "/", "", nil); r.status != 503 {
		t.Fatalf("status %d", r.status)
	}
}

func TestRouter_UnknownClusterIs503(t *testing.T) {
	h := newHarness(t, nil, func(c *Config) { c.VirtualHosts[0].Routes[0].Cluster = "missing" })
	if r := h.do("GET", "/", "", nil); r.status != 503 {
		t.Fatalf("status %d", r.status)
	}
}

func TestRouter_HostAndPathSentUpstream(t *testing.T) {
	h := newHarness(t, nil, func(c *Config) {
		c.VirtualHosts[0].Routes = []Route{
			{Prefix: "/v1/", Cluster: "up", PrefixRewrite: "/api/", HostRewriteLiteral: "api.provider.test"},
			{Prefix: "/", Cluster: "up"},
		}
	})
	h.do("GET", "/v1/items?x=1", "", map[string]string{"Host": "svc.local:10000"})
	h.do("GET", "/plain", "", map[string]string{"Host": "svc.local:10000"})
	reqs := h.up.requests()
	if reqs[0].host != "api.provider.test" || reqs[0].uri != "/api/items?x=1" {
		t.Fatalf("rewritten request: host %q uri %q", reqs[0].host, reqs[0].uri)
	}
	if reqs[1].host != "svc.local:10000" || reqs[1].uri != "/plain" {
		t.Fatalf("plain request: host %q uri %q", reqs[1].host, reqs[1].uri)
	}
	if reqs[1].header.Get("User-Agent") != "Go-http-client/1.1" || reqs[1].header.Get("Accept-Encoding") != "gzip" {
		t.Fatalf("client headers not passed through: %v", reqs[1].header)
	}
}

func TestRouter_SetConfigReroutesWithoutRestart(t *testing.T) {
	other := startUpstream(t, "other", nil)
	h := newHarness(t, nil, nil)
	if r := h.do("GET", "/", "", nil); r.header.Get("X-Upstream") != "up" {
		t.Fatalf("first: %v", r.header)
	}
	cfg := baseConfig(h.proc.addr, other.addr())
	if err := h.emu.SetConfig(cfg); err != nil {
		t.Fatal(err)
	}
	if r := h.do("GET", "/", "", nil); r.header.Get("X-Upstream") != "other" {
		t.Fatalf("after SetConfig: %v", r.header)
	}
	if err := h.emu.SetConfig(Config{}); err == nil {
		t.Fatal("invalid config accepted")
	}
	if r := h.do("GET", "/", "", nil); r.header.Get("X-Upstream") != "other" {
		t.Fatal("a rejected config must leave the running one")
	}
}
