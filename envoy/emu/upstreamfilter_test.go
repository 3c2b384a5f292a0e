package emu

import (
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	extprocv3cfg "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"
	upstreamcodecv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/upstream_codec/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	upstreamhttpv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/upstreams/http/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	"google.golang.org/protobuf/types/known/anypb"
)

// upstreamFilterOnly moves the harness's processor from the HCM to the cluster's
// http_filters (docs/envoy-ext-proc.md section 10) and retries 401 once.
func upstreamFilterOnly(c *Config) {
	up := c.Clusters["up"]
	up.UpstreamExtProc = &Config{ExtProcAddress: c.ExtProcAddress, ProcessingMode: &extprocv3cfg.ProcessingMode{
		RequestBodyMode: extprocv3cfg.ProcessingMode_BUFFERED}}
	c.Clusters["up"] = up
	c.Disabled = true
	c.VirtualHosts[0].Routes[0].RetryPolicy = &RetryPolicy{RetryOn: []string{"retriable-status-codes"}, NumRetries: 1, RetriableStatusCodes: []int{401}}
}

// Filter::doRetry builds a new UpstreamRequest, and with it a new upstream filter chain: each
// attempt has its own ext_proc stream (and so a fresh signature), the body is the original,
// and the headers are the router's map with the previous attempt's mutations in it.
func TestUpstreamFilter_EachAttemptItsOwnStream(t *testing.T) {
	var n atomic.Int32
	sign := onKind("request_body", func(req *extprocv3.ProcessingRequest) *extprocv3.ProcessingResponse {
		v := fmt.Sprint(n.Add(1))
		return reply(req, &extprocv3.CommonResponse{HeaderMutation: headerMut([]*corev3.HeaderValueOption{
			setRaw("authorization", "Bearer tok-"+v), appendRaw("x-attempt", v)})})
	})
	h := newHarness(t, sign, upstreamFilterOnly)
	var mu sync.Mutex
	var seen []string
	h.up.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, fmt.Sprintf("%s %v", r.Header.Get("Authorization"), r.Header.Values("X-Attempt")))
		first := len(seen) == 1
		mu.Unlock()
		if first {
			w.WriteHeader(http.StatusUnauthorized)
		}
	})
	if r := h.do("POST", "/", "pay", nil); r.status != 200 {
		t.Fatalf("status %d", r.status)
	}
	want := []string{"Bearer tok-1 [1]", "Bearer tok-2 [1 2]"}
	if !equalStrings(seen, want) {
		t.Fatalf("attempts carried %q, want %q (overwritten Authorization, appended header kept)", seen, want)
	}
	if h.proc.streams != 2 {
		t.Fatalf("%d ext_proc streams, want one per attempt", h.proc.streams)
	}
	for _, m := range h.proc.messages() {
		if b := m.GetRequestBody(); b != nil && string(b.GetBody()) != "pay" {
			t.Fatalf("attempt body %q, want the original", b.GetBody())
		}
	}
}

// Filter::sendImmediateResponse returns early in an upstream filter: the attempt is never
// continued, nothing reaches the upstream, and the route timeout ends the request.
func TestUpstreamFilter_ImmediateResponseIgnored(t *testing.T) {
	deny := onKind("request_headers", func(*extprocv3.ProcessingRequest) *extprocv3.ProcessingResponse {
		return immediate(typev3.StatusCode_Forbidden, "no")
	})
	h := newHarness(t, deny, func(c *Config) {
		upstreamFilterOnly(c)
		c.VirtualHosts[0].Routes[0].Timeout = Duration(200 * time.Millisecond)
	})
	if r := h.do("POST", "/", "pay", nil); r.status != 504 {
		t.Fatalf("status %d, want the route timeout's 504", r.status)
	}
	if len(h.up.requests()) != 0 || h.emu.Stats().UpstreamIgnored != 1 {
		t.Fatalf("%d upstream requests, %d ignored", len(h.up.requests()), h.emu.Stats().UpstreamIgnored)
	}
}

// A cluster's HttpProtocolOptions.http_filters [ext_proc, upstream_codec] from xDS becomes the
// cluster's upstream filter, pointed at its envoy_grpc cluster.
func TestUpstreamFilter_FromXDS(t *testing.T) {
	ep := &extprocv3cfg.ExternalProcessor{
		GrpcService: &corev3.GrpcService{TargetSpecifier: &corev3.GrpcService_EnvoyGrpc_{
			EnvoyGrpc: &corev3.GrpcService_EnvoyGrpc{ClusterName: "keygate_ext_proc"}}},
		ProcessingMode: &extprocv3cfg.ProcessingMode{RequestBodyMode: extprocv3cfg.ProcessingMode_BUFFERED},
	}
	po := &upstreamhttpv3.HttpProtocolOptions{HttpFilters: []*hcmv3.HttpFilter{
		{Name: "envoy.filters.http.ext_proc", ConfigType: &hcmv3.HttpFilter_TypedConfig{TypedConfig: mustAny(t, ep)}},
		{Name: "envoy.filters.http.upstream_codec", ConfigType: &hcmv3.HttpFilter_TypedConfig{TypedConfig: mustAny(t, &upstreamcodecv3.UpstreamCodec{})}},
	}}
	c := staticCluster("provider_pay", "127.0.0.1:9")
	c.TypedExtensionProtocolOptions = map[string]*anypb.Any{"envoy.extensions.upstreams.http.v3.HttpProtocolOptions": mustAny(t, po)}
	got, err := convertCluster(c, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	clusters := map[string]Cluster{"provider_pay": got, "keygate_ext_proc": {Endpoints: []string{"127.0.0.1:18080"}}}
	if err := resolveUpstreamFilters(clusters, nil); err != nil {
		t.Fatal(err)
	}
	up := clusters["provider_pay"].UpstreamExtProc
	if up == nil || up.ExtProcAddress != "127.0.0.1:18080" || up.ProcessingMode.GetRequestBodyMode() != extprocv3cfg.ProcessingMode_BUFFERED {
		t.Fatalf("upstream filter %+v", up)
	}
}
