package xds

import (
	"errors"
	"strings"
	"testing"
	"time"

	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	"github.com/envoyproxy/go-control-plane/pkg/resource/v3"

	"github.com/keygate/keygate/internal/config"
)

func parse(t testing.TB, yaml string) *config.File {
	t.Helper()
	f, err := config.Parse([]byte(yaml))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return f
}

func provider(name, host, url string) config.Provider {
	return config.Provider{Name: name, Hosts: []string{host}, Upstream: config.Upstream{URL: url}}
}

// TestBuildRejects: a config that cannot produce a valid snapshot is rejected whole, and the
// error names the provider field at fault.
func TestBuildRejects(t *testing.T) {
	tests := []struct {
		name    string
		file    config.File
		opts    Options
		wantSub string
	}{
		{name: "bad scheme", file: config.File{Providers: []config.Provider{provider("a", "a.local", "ftp://x")}},
			wantSub: "providers[0].upstream.url: scheme"},
		{name: "bad port", file: config.File{Providers: []config.Provider{provider("a", "a.local", "https://x:0")}},
			wantSub: "providers[0].upstream.url: port"},
		{name: "host routed twice", file: config.File{Providers: []config.Provider{
			provider("a", "same.local", "https://a.example"), provider("b", "same.local", "https://b.example")}},
			wantSub: `providers[1].hosts[0]: "same.local" is already routed to provider "a"`},
		{name: "host not lower case", file: config.File{Providers: []config.Provider{provider("a", "SAME.local", "https://a.example")}},
			wantSub: `providers[0].hosts[0]: host "SAME.local" must be lower case`},
		{name: "negative retries", file: config.File{Providers: []config.Provider{{Name: "a", Hosts: []string{"a.local"},
			Upstream: config.Upstream{URL: "https://a.example", Retries: -1}}}}, wantSub: "providers[0].upstream.retries"},
		{name: "body limit beyond 32 bits", file: config.File{Limits: config.Limits{MaxBodyBytes: 1 << 33}},
			wantSub: "limits.max_body_bytes"},
		{name: "ext_proc address", file: config.File{Listen: config.Listen{ExtProc: "nohostport"}}, wantSub: "listen.ext_proc"},
		{name: "invalid provider name reaches Envoy's rules", file: config.File{Providers: []config.Provider{
			provider("", "a.local", "https://a.example")}}, wantSub: "providers[0]"},
		{name: "every problem at once", file: config.File{Providers: []config.Provider{
			provider("a", "a.local", "ftp://x"), provider("b", "b.local", "gopher://y")}},
			wantSub: "providers[1].upstream.url"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := BuildSnapshot("1", &tt.file, tt.opts)
			if err == nil {
				t.Fatalf("want an error containing %q, got none", tt.wantSub)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("errors.Is(err, ErrInvalid) = false for %v", err)
			}
			if !strings.Contains(err.Error(), tt.wantSub) {
				t.Errorf("error %q does not contain %q", err, tt.wantSub)
			}
		})
	}
}

// TestBuildShape checks the choices keygate relies on, beyond what the golden files pin.
func TestBuildShape(t *testing.T) {
	f := parse(t, `
limits: {max_body_bytes: 3000000}
providers:
  - name: pay
    hosts: [pay.egress.local]
    upstream: {url: "https://api.pay.example/v3", http2: true}
`)
	snap, err := BuildSnapshot("7", f, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := snap.Consistent(); err != nil {
		t.Fatal(err)
	}
	if got := snap.GetVersion(resource.ClusterType); got != "7" {
		t.Errorf("version = %q, want 7", got)
	}
	r, err := Build(f, Options{})
	if err != nil {
		t.Fatal(err)
	}
	l := r.Listeners[0]
	if got := l.GetPerConnectionBufferLimitBytes().GetValue(); got != 3000000 {
		t.Errorf("buffer limit = %d, want max_body_bytes", got)
	}
	hcm := &hcmv3.HttpConnectionManager{}
	if err := l.GetFilterChains()[0].GetFilters()[0].GetTypedConfig().UnmarshalTo(hcm); err != nil {
		t.Fatal(err)
	}
	if n := len(hcm.GetHttpFilters()); n != 2 || hcm.GetHttpFilters()[1].GetName() != routerFilterName {
		t.Fatalf("http filters = %v, want ext_proc then router", hcm.GetHttpFilters())
	}
	ep := &extprocv3.ExternalProcessor{}
	if err := hcm.GetHttpFilters()[0].GetTypedConfig().UnmarshalTo(ep); err != nil {
		t.Fatal(err)
	}
	if ep.GetFailureModeAllow() || !ep.GetAllowModeOverride() || !ep.GetMutationRules().GetAllowAllRouting().GetValue() {
		t.Errorf("ext_proc must fail closed, allow mode override and routing-header changes: %v", ep)
	}
	if got := ep.GetMessageTimeout().AsDuration(); got != 3*time.Second {
		t.Errorf("message timeout = %v, want 3s for a 2.9 MiB body limit", got)
	}
	if ep.GetProcessingMode().GetRequestBodyMode() != extprocv3.ProcessingMode_BUFFERED ||
		ep.GetProcessingMode().GetResponseBodyMode() != extprocv3.ProcessingMode_BUFFERED {
		t.Errorf("body modes = %v, want BUFFERED both ways", ep.GetProcessingMode())
	}
	c := r.Clusters[1]
	if c.GetName() != "provider_pay" {
		t.Fatalf("cluster = %q, want provider_pay", c.GetName())
	}
	tls := &tlsv3.UpstreamTlsContext{}
	if err := c.GetTransportSocket().GetTypedConfig().UnmarshalTo(tls); err != nil {
		t.Fatal(err)
	}
	vc := tls.GetCommonTlsContext().GetValidationContext()
	if tls.GetSni() != "api.pay.example" || vc.GetTrustedCa().GetFilename() != DefaultCAFile ||
		vc.GetMatchTypedSubjectAltNames()[0].GetMatcher().GetExact() != "api.pay.example" {
		t.Errorf("TLS must verify the server: sni, trusted CA and SAN: %v", tls)
	}
}

func TestMessageTimeoutDefault(t *testing.T) {
	for _, tt := range []struct {
		body int64
		want time.Duration
	}{{0, time.Second}, {1, time.Second}, {1 << 20, time.Second}, {1<<20 + 1, 2 * time.Second}, {10 << 20, 10 * time.Second}} {
		o := Options{MaxBodyBytes: tt.body}.withDefaults(&config.File{})
		if o.MessageTimeout != tt.want {
			t.Errorf("MaxBodyBytes %d: timeout %v, want %v", tt.body, o.MessageTimeout, tt.want)
		}
	}
}

func TestExtProcAddressDefault(t *testing.T) {
	for listen, want := range map[string]string{
		"": DefaultExtProcAddress, "0.0.0.0:9000": "127.0.0.1:9000", "[::]:9000": "127.0.0.1:9000",
		"10.1.2.3:9000": "10.1.2.3:9000", "keygate:18080": "keygate:18080",
	} {
		o := Options{}.withDefaults(&config.File{Listen: config.Listen{ExtProc: listen}})
		if o.ExtProcAddress != want {
			t.Errorf("listen %q: ext_proc address %q, want %q", listen, o.ExtProcAddress, want)
		}
	}
}

// Two tenants of one API share its upstream host: routing is by the caller's alias only, so
// each provider keeps its own cluster and timeout, and the Host that leaves is the upstream's.
func TestSharedUpstreamKeepsEachRoute(t *testing.T) {
	a, b := provider("a", "a.local", "https://api.example/v1"), provider("b", "b.local", "https://api.example/v2")
	b.Upstream.Timeout = config.Duration(3 * time.Second)
	res, err := Build(&config.File{Providers: []config.Provider{a, b}}, Options{})
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	vhs := res.Routes[0].GetVirtualHosts()
	if len(vhs) != 2 {
		t.Fatalf("%d virtual hosts, want 2", len(vhs))
	}
	for i, want := range []struct{ domain, cluster string }{{"a.local", "provider_a"}, {"b.local", "provider_b"}} {
		vh := vhs[i]
		if len(vh.GetDomains()) != 1 || vh.GetDomains()[0] != want.domain {
			t.Errorf("virtual host %d domains %v, want only %q", i, vh.GetDomains(), want.domain)
		}
		action := vh.GetRoutes()[0].GetRoute()
		if action.GetCluster() != want.cluster || action.GetHostRewriteLiteral() != "api.example" {
			t.Errorf("virtual host %d routes to %q with host %q", i, action.GetCluster(), action.GetHostRewriteLiteral())
		}
	}
	if got := vhs[1].GetRoutes()[0].GetRoute().GetTimeout().AsDuration(); got != 3*time.Second {
		t.Errorf("provider b's timeout %v, want 3s", got)
	}
}
