package xds

import (
	"strings"
	"testing"

	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"
	routerv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/router/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
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
