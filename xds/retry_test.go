package xds

import (
	"strings"
	"testing"

	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"
	routerv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/router/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	httpv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/upstreams/http/v3"

	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/internal/routing"
)

// The router's doRetry replays the same signed headers and body (source/common/router/router.cc),
// so a provider route retries only failures where the request never reached the provider, and
// the router adds no x-envoy-* headers to the signed request or the answer.
func TestRouterRetriesOnlyWhereReplayIsSafe(t *testing.T) {
	f := parse(t, `
providers:
  - {name: pay, hosts: [pay.local], upstream: {url: "https://api.pay.example", retries: 2}}
`)
	r, err := Build(f, Options{})
	if err != nil {
		t.Fatal(err)
	}
	rp := r.Routes[0].GetVirtualHosts()[0].GetRoutes()[0].GetRoute().GetRetryPolicy()
	on := strings.Split(rp.GetRetryOn(), ",")
	for _, cond := range on {
		switch cond {
		case "connect-failure", "refused-stream":
		default:
			t.Errorf("retry_on %q: replaying a signed request after %q is not safe", rp.GetRetryOn(), cond)
		}
	}
	if rp.GetNumRetries().GetValue() != 2 || len(rp.GetRetriableStatusCodes()) != 0 {
		t.Errorf("retry policy %v", rp)
	}
	hcm := &hcmv3.HttpConnectionManager{}
	if err := r.Listeners[0].GetFilterChains()[0].GetFilters()[0].GetTypedConfig().UnmarshalTo(hcm); err != nil {
		t.Fatal(err)
	}
	router := &routerv3.Router{}
	if err := hcm.GetHttpFilters()[1].GetTypedConfig().UnmarshalTo(router); err != nil {
		t.Fatal(err)
	}
	if !router.GetSuppressEnvoyHeaders() {
		t.Error("router without suppress_envoy_headers")
	}
}

// Even if Envoy did not honour keygate's mode_override, a request with trailers and no DATA
// (no request_body message, Filter::onTrailers) must reach keygate as request_trailers, which
// it refuses unsigned, rather than continue with unsigned headers.
func TestFilterAsksForRequestTrailers(t *testing.T) {
	if m := extProcFilter(Options{}).GetProcessingMode(); m.GetRequestTrailerMode() != extprocv3.ProcessingMode_SEND {
		t.Errorf("request_trailer_mode %v, want SEND", m.GetRequestTrailerMode())
	}
}

// envoy.upstream_signing picks where token providers are signed: on (the default), a provider
// with a token and no script gets the signed cluster with the upstream filter and a route that
// retries its retry_on statuses; a script provider, a provider without a token, or the switch
// off keep provider_<name>, no upstream filter and no status retries.
func TestUpstreamSigningSwitch(t *testing.T) {
	const providers = `
providers:
  - {name: tok, hosts: [tok.local], upstream: {url: "http://127.0.0.1:1"}, token: {type: http, url: "http://127.0.0.1:1/t", retry_on: [401, 419]}, signing: [{scheme: token}]}
  - {name: js, hosts: [js.local], upstream: {url: "http://127.0.0.1:2"}, token: {type: script, url: "http://127.0.0.1:2/t"}, script: {inline: "function request(){}"}}
  - {name: plain, hosts: [plain.local], upstream: {url: "http://127.0.0.1:3"}}
`
	for _, tc := range []struct {
		prefix string
		signed bool
	}{{"", true}, {"envoy: {upstream_signing: true}\n", true}, {"envoy: {upstream_signing: false}\n", false}} {
		f, err := config.Parse([]byte(tc.prefix + providers))
		if err != nil {
			t.Fatal(err)
		}
		r, err := Build(f, Options{})
		if err != nil {
			t.Fatal(err)
		}
		clusters := map[string]bool{}
		for _, c := range r.Clusters {
			po := &httpv3.HttpProtocolOptions{}
			if err := c.GetTypedExtensionProtocolOptions()[httpProtocolOptionsKey].UnmarshalTo(po); err != nil {
				t.Fatal(err)
			}
			clusters[c.GetName()] = len(po.GetHttpFilters()) == 2
		}
		wantTok := "provider_tok"
		if tc.signed {
			wantTok = routing.SignedCluster("tok")
		}
		if has, ok := clusters[wantTok]; !ok || has != tc.signed {
			t.Errorf("%q: clusters %v, want %s with upstream filters %v", tc.prefix, clusters, wantTok, tc.signed)
		}
		if clusters["provider_js"] || clusters["provider_plain"] {
			t.Errorf("%q: clusters %v: script and token-less providers carry no upstream filter", tc.prefix, clusters)
		}
		rp := r.Routes[0].GetVirtualHosts()[0].GetRoutes()[0].GetRoute()
		if got := rp.GetCluster(); got != wantTok {
			t.Errorf("%q: route to %s, want %s", tc.prefix, got, wantTok)
		}
		if got := rp.GetRetryPolicy(); tc.signed != (got != nil) || tc.signed && (got.GetRetryOn() != "retriable-status-codes" || len(got.GetRetriableStatusCodes()) != 2 || got.GetNumRetries().GetValue() != 1) {
			t.Errorf("%q: retry policy %v", tc.prefix, got)
		}
	}
}
