package xds

import (
	"fmt"
	"math"

	"github.com/keygate/keygate/internal/routing"
	"github.com/keygate/keygate/internal/tenancy"

	mutationv3 "github.com/envoyproxy/go-control-plane/envoy/config/common/mutation_rules/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"
	routerv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/router/v3"
	upstreamcodecv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/upstream_codec/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

const (
	hcmFilterName    = "envoy.filters.network.http_connection_manager"
	routerFilterName = "envoy.filters.http.router"
)

// egressListener is the listener services send plain HTTP to: HCM with ext_proc, then router.
func egressListener(o Options) (*listenerv3.Listener, error) {
	if o.MaxBodyBytes < 0 || o.MaxBodyBytes > math.MaxUint32 {
		return nil, fmt.Errorf("limits.max_body_bytes: %d does not fit Envoy's 32-bit buffer limit", o.MaxBodyBytes)
	}
	extProc, err := pack(extProcFilter(o))
	if err != nil {
		return nil, err
	}
	// suppress_envoy_headers: the router adds no x-envoy-* headers to what the provider sees
	// (x-envoy-expected-rq-timeout-ms, x-envoy-original-host on the host rewrite) nor to the
	// caller's answer (x-envoy-upstream-service-time); they are not part of any signature.
	router, err := pack(&routerv3.Router{SuppressEnvoyHeaders: true})
	if err != nil {
		return nil, err
	}
	hcm := &hcmv3.HttpConnectionManager{
		StatPrefix: o.ListenerName,
		CodecType:  hcmv3.HttpConnectionManager_AUTO,
		RouteSpecifier: &hcmv3.HttpConnectionManager_Rds{Rds: &hcmv3.Rds{
			ConfigSource:    adsSource(),
			RouteConfigName: o.RouteConfigName,
		}},
		// Callers write pay.egress.local or pay.egress.local:10000; virtual hosts list names only.
		StripPortMode: &hcmv3.HttpConnectionManager_StripAnyHostPort{StripAnyHostPort: true},
		// keygate puts the provider's prefix in front of the caller's path: Envoy resolves dot
		// segments and merges slashes first, and refuses escaped slashes (400), so what keygate
		// prefixes is what the upstream resolves (routing.CheckPath checks it again).
		NormalizePath:                wrapperspb.Bool(true),
		MergeSlashes:                 true,
		PathWithEscapedSlashesAction: hcmv3.HttpConnectionManager_REJECT_REQUEST,
		HttpFilters: []*hcmv3.HttpFilter{
			{Name: o.ExtProcFilterName, ConfigType: &hcmv3.HttpFilter_TypedConfig{TypedConfig: extProc}},
			{Name: routerFilterName, ConfigType: &hcmv3.HttpFilter_TypedConfig{TypedConfig: router}},
		},
	}
	hcmAny, err := pack(hcm)
	if err != nil {
		return nil, err
	}
	return &listenerv3.Listener{
		Name:    o.ListenerName,
		Address: socketAddress(o.ListenerAddress, o.ListenerPort),
		// The buffer limit is the largest body ext_proc can see in BUFFERED mode (413 beyond it).
		PerConnectionBufferLimitBytes: wrapperspb.UInt32(uint32(o.MaxBodyBytes)),
		FilterChains: []*listenerv3.FilterChain{{
			Filters: []*listenerv3.Filter{{
				Name:       hcmFilterName,
				ConfigType: &listenerv3.Filter_TypedConfig{TypedConfig: hcmAny},
			}},
		}},
	}, nil
}

// extProcFilter is keygate's ext_proc configuration; every choice here is one keygate relies on.
func extProcFilter(o Options) *extprocv3.ExternalProcessor {
	f := &extprocv3.ExternalProcessor{
		GrpcService: &corev3.GrpcService{TargetSpecifier: &corev3.GrpcService_EnvoyGrpc_{
			EnvoyGrpc: &corev3.GrpcService_EnvoyGrpc{ClusterName: o.ExtProcClusterName},
		}},
		// Fail closed: a request keygate could not sign never leaves unsigned.
		FailureModeAllow: false,
		// Request trailers SEND: a request with trailers and no DATA reaches keygate as
		// request_trailers, which it refuses unsigned, even where a mode_override were not honoured.
		ProcessingMode: &extprocv3.ProcessingMode{
			RequestHeaderMode:   extprocv3.ProcessingMode_SEND,
			ResponseHeaderMode:  extprocv3.ProcessingMode_SEND,
			RequestBodyMode:     extprocv3.ProcessingMode_BUFFERED,
			ResponseBodyMode:    extprocv3.ProcessingMode_BUFFERED,
			RequestTrailerMode:  extprocv3.ProcessingMode_SEND,
			ResponseTrailerMode: extprocv3.ProcessingMode_SKIP,
		},
		// What extproc reads the SPIFFE ID, the matched route (so the provider) and the route's
		// cluster (signed there or here: routing.SignedCluster) from.
		RequestAttributes: []string{tenancy.SPIFFEAttribute, routing.RouteAttribute, routing.ClusterAttribute},
		MessageTimeout:    durationpb.New(o.MessageTimeout),
		MaxMessageTimeout: durationpb.New(max(MaxMessageTimeout, o.MessageTimeout)),
		MutationRules: &mutationv3.HeaderMutationRules{
			// keygate rewrites :authority to the provider's upstream host (routing stays by alias).
			AllowAllRouting: wrapperspb.Bool(true),
			// A mutation Envoy would drop (say x-envoy-*) is an error, not a silently unsigned call.
			DisallowIsError: wrapperspb.Bool(true),
		},
		// keygate turns body processing off for requests that need no body changes.
		AllowModeOverride: true,
	}
	if o.phase != "" {
		f.GrpcService.InitialMetadata = []*corev3.HeaderValue{{Key: routing.PhaseMetadata, Value: o.phase}}
	}
	return f
}

// upstreamFilters are a signed cluster's HttpProtocolOptions.http_filters: keygate's ext_proc,
// then upstream_codec (the last upstream filter must be the codec). Each router attempt builds
// its own chain, so each attempt opens its own stream and is signed with a fresh token and
// nonce (docs/envoy-ext-proc.md sections 10 and 11).
func upstreamFilters(o Options) ([]*hcmv3.HttpFilter, error) {
	ep, err := pack(upstreamExtProcFilter(o))
	if err != nil {
		return nil, err
	}
	codec, err := pack(&upstreamcodecv3.UpstreamCodec{})
	if err != nil {
		return nil, err
	}
	return []*hcmv3.HttpFilter{
		{Name: o.ExtProcFilterName, ConfigType: &hcmv3.HttpFilter_TypedConfig{TypedConfig: ep}},
		{Name: upstreamCodecName, ConfigType: &hcmv3.HttpFilter_TypedConfig{TypedConfig: codec}},
	}, nil
}

const upstreamCodecName = "envoy.filters.http.upstream_codec"

// upstreamExtProcFilter is keygate's ext_proc as an upstream filter: the same server, told
// apart by initial metadata; the attempt's cluster names the provider (xds.cluster_name).
// Request headers, body (BUFFERED: the signature goes with the body) and trailers (so a
// request with trailers and no DATA is refused rather than continued unsigned) are sent;
// response headers so a rejected token is dropped before the router retries; no response
// body (the downstream phase processes the answer). No mode override: the phase asks for
// nothing else.
func upstreamExtProcFilter(o Options) *extprocv3.ExternalProcessor {
	f := extProcFilter(o)
	f.GrpcService.InitialMetadata = []*corev3.HeaderValue{{Key: routing.PhaseMetadata, Value: routing.UpstreamPhase}}
	f.ProcessingMode = &extprocv3.ProcessingMode{
		RequestHeaderMode:   extprocv3.ProcessingMode_SEND,
		ResponseHeaderMode:  extprocv3.ProcessingMode_SEND,
		RequestBodyMode:     extprocv3.ProcessingMode_BUFFERED,
		ResponseBodyMode:    extprocv3.ProcessingMode_NONE,
		RequestTrailerMode:  extprocv3.ProcessingMode_SEND,
		ResponseTrailerMode: extprocv3.ProcessingMode_SKIP,
	}
	// The caller is checked downstream only: the upstream phase reads just the cluster.
	f.RequestAttributes = []string{routing.ClusterAttribute}
	f.AllowModeOverride = false
	return f
}

func adsSource() *corev3.ConfigSource {
	return &corev3.ConfigSource{
		ConfigSourceSpecifier: &corev3.ConfigSource_Ads{Ads: &corev3.AggregatedConfigSource{}},
		ResourceApiVersion:    corev3.ApiVersion_V3,
	}
}
