package emu

import (
	"crypto/tls"
	"net/http"
	"time"

	extprocv3cfg "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"
	"google.golang.org/grpc"
)

// ProcessingMode is Envoy's own processing_mode message, used as is so that the mapping from
// xDS is the identity. A nil *ProcessingMode means Envoy's defaults: request and response
// headers SEND, bodies NONE, trailers SKIP.
type ProcessingMode = extprocv3cfg.ProcessingMode

// DefaultFilterName is the HTTP filter name Envoy configs normally give ext_proc. It keys the
// attributes map sent to the server and typed_per_filter_config in routes.
const DefaultFilterName = "envoy.filters.http.ext_proc"

// Config is one whole configuration of the emulated Envoy: the ext_proc filter
// (envoy.extensions.filters.http.ext_proc.v3.ExternalProcessor), the HTTP connection manager's
// route table (envoy.config.route.v3.RouteConfiguration) and the clusters
// (envoy.config.cluster.v3.Cluster). Zero values take Envoy's defaults (see withDefaults).
type Config struct {
	// FilterName mirrors HttpFilter.name (default DefaultFilterName).
	FilterName string

	// ExtProcConn mirrors grpc_service: an already dialled channel to the processor.
	// Exactly one of ExtProcConn and ExtProcAddress must be set (Envoy: exactly one of
	// grpc_service and http_service). Disabled turns the filter off (no http_filters entry).
	ExtProcConn grpc.ClientConnInterface
	// ExtProcAddress mirrors grpc_service.envoy_grpc.cluster_name resolved to host:port; the
	// emulator dials it with HTTP/2 (in TLS when ExtProcTLS is set) and owns the connection.
	ExtProcAddress string
	// ExtProcEndpoints, when it has more than one address, mirrors an ext_proc cluster of
	// several hosts (replicas of keygate): each stream goes to one of them, round robin, and
	// with ExtProcHealthChecked only to hosts whose gRPC health is SERVING (extproccluster.go).
	ExtProcEndpoints     []string
	ExtProcHealthChecked bool
	// ExtProcTLS mirrors the ext_proc cluster's transport_socket; nil = plaintext (h2c).
	ExtProcTLS    *tls.Config
	extProcTLSKey string // what the TLS config was built from: one channel per distinct one
	// InitialMetadata mirrors grpc_service.initial_metadata: gRPC metadata sent on every
	// Process stream (key, value pairs; keys lower-case).
	InitialMetadata [][2]string
	// Disabled means the HCM has no ext_proc filter: only the router runs.
	Disabled bool

	ProcessingMode   *ProcessingMode // processing_mode
	MutationRules    *MutationRules  // mutation_rules
	FailureModeAllow bool            // failure_mode_allow
	MessageTimeout   time.Duration   // message_timeout (default 200ms)
	// MaxMessageTimeout mirrors max_message_timeout: the largest override_message_timeout the
	// processor may ask for (0: overrides are ignored).
	MaxMessageTimeout time.Duration
	StatusOnError     int // status_on_error.code (default 500)
	// AllowModeOverride mirrors allow_mode_override; AllowedOverrideModes allowed_override_modes.
	AllowModeOverride    bool
	AllowedOverrideModes []*ProcessingMode
	// AllowContentLengthHeader mirrors allow_content_length_header.
	AllowContentLengthHeader bool
	// RequestAttributes / ResponseAttributes mirror request_attributes / response_attributes
	// (CEL expression texts). Only the names listed in attributes.go, and those AttributeHook
	// returns, get values.
	RequestAttributes  []string
	ResponseAttributes []string
	// AttributeHook, when set, supplies attribute values by expression text; its entries win
	// over the built-in ones. It stands in for Envoy's CEL evaluation.
	AttributeHook func(r *http.Request) map[string]any

	// BufferLimit mirrors the listener's per_connection_buffer_limit_bytes (default 1 MiB).
	BufferLimit int
	// MaxHeadersCount mirrors HCM common_http_protocol_options.max_headers_count (default 100);
	// MaxHeadersKB mirrors HCM max_request_headers_kb (default 60).
	MaxHeadersCount int
	MaxHeadersKB    int
	// StripAnyHostPort mirrors HCM strip_any_host_port.
	StripAnyHostPort bool
	// SuppressEnvoyHeaders mirrors the router filter's suppress_envoy_headers: no
	// x-envoy-expected-rq-timeout-ms, x-envoy-original-host/-path upstream, nor
	// x-envoy-upstream-service-time downstream.
	SuppressEnvoyHeaders bool
	// NormalizePath, MergeSlashes and PathWithEscapedSlashesAction mirror the HCM fields of
	// those names (pathnorm.go; default: none of them, escaped slashes KEEP_UNCHANGED).
	NormalizePath                bool
	MergeSlashes                 bool
	PathWithEscapedSlashesAction EscapedSlashesAction

	// IgnorePortInHostMatching mirrors RouteConfiguration.ignore_port_in_host_matching.
	IgnorePortInHostMatching bool
	// VirtualHosts mirrors RouteConfiguration.virtual_hosts.
	VirtualHosts []VirtualHost
	// Clusters mirrors the CDS clusters by name.
	Clusters map[string]Cluster
}

// MutationRules mirrors envoy.config.common.mutation_rules.v3.HeaderMutationRules. Nil in
// Config means no mutation_rules at all (Envoy's defaults, identical to a zero MutationRules).
type MutationRules struct {
	AllowAllRouting bool // allow_all_routing
	AllowEnvoy      bool // allow_envoy
	DisallowSystem  bool // disallow_system
	DisallowAll     bool // disallow_all
	DisallowIsError bool // disallow_is_error
	// AllowExpression / DisallowExpression mirror allow_expression / disallow_expression
	// (RegexMatcher.regex, RE2; Go's regexp is RE2 too). Empty means unset.
	AllowExpression    string
	DisallowExpression string
}

// VirtualHost mirrors envoy.config.route.v3.VirtualHost.
type VirtualHost struct {
	Name string // name
	// Domains mirrors domains: exact host, "*", "*.suffix" / "*suffix" or "prefix.*" / "prefix*".
	Domains []string
	Routes  []Route // routes, first match wins
}

// Route mirrors envoy.config.route.v3.Route with a RouteAction.
type Route struct {
	Name   string // name
	Prefix string // match.prefix
	Path   string // match.path (exact, query excluded); used when Prefix is empty
	// Cluster mirrors route.cluster.
	Cluster string
	// Timeout mirrors route.timeout: nil means unset (Envoy's 15s), a pointer to 0 disables it.
	Timeout *time.Duration
	// PrefixRewrite mirrors route.prefix_rewrite; HostRewriteLiteral route.host_rewrite_literal.
	PrefixRewrite      string
	HostRewriteLiteral string
	// ExtProc mirrors typed_per_filter_config[FilterName] (ExtProcPerRoute).
	ExtProc *ExtProcPerRoute
	// DirectResponse mirrors route.direct_response (status only, body as literal bytes).
	DirectResponse *DirectResponse
	// RetryPolicy mirrors route.retry_policy (nil: no retries).
	RetryPolicy *RetryPolicy
}

// RetryPolicy mirrors envoy.config.route.v3.RetryPolicy: retry_on conditions (connect-failure,
// reset, refused-stream, retriable-status-codes, 5xx, gateway-error), num_retries (Envoy's
// default 1 when unset) and retriable_status_codes.
type RetryPolicy struct {
	RetryOn              []string
	NumRetries           int
	RetriableStatusCodes []int
}

// DirectResponse mirrors envoy.config.route.v3.DirectResponseAction.
type DirectResponse struct {
	Status int
	Body   string
}

// ExtProcPerRoute mirrors envoy.extensions.filters.http.ext_proc.v3.ExtProcPerRoute.
type ExtProcPerRoute struct {
	Disabled bool // disabled
	// ProcessingMode mirrors overrides.processing_mode (replaces the filter's mode whole).
	ProcessingMode *ProcessingMode
	// FailureModeAllow mirrors overrides.failure_mode_allow (nil: unset).
	FailureModeAllow *bool
}

// Cluster mirrors the parts of envoy.config.cluster.v3.Cluster the router uses.
type Cluster struct {
	// Endpoints mirrors load_assignment socket addresses as host:port (round robin).
	Endpoints []string
	// HealthChecked mirrors a grpc_health_check in health_checks.
	HealthChecked bool
	// TLS mirrors transport_socket envoy.transport_sockets.tls (UpstreamTlsContext); nil = plaintext.
	TLS *tls.Config
	// HTTP2 mirrors typed_extension_protocol_options HttpProtocolOptions explicit HTTP/2
	// (h2c when TLS is nil).
	HTTP2 bool
	// ConnectTimeout mirrors connect_timeout (default 5s).
	ConnectTimeout time.Duration

	tlsKey string // the UpstreamTlsContext an SDS-backed TLS was built from
	// UpstreamExtProc mirrors an ext_proc filter in HttpProtocolOptions.http_filters (before
	// envoy.filters.http.upstream_codec): its ext_proc fields (ExtProcAddress or ExtProcConn,
	// ProcessingMode, MessageTimeout, FailureModeAllow, MutationRules, AllowModeOverride,
	// StatusOnError) run once per router attempt. nil: no upstream filter.
	UpstreamExtProc *Config
	// upstreamProcTarget is the envoy_grpc cluster of an UpstreamExtProc read from xDS,
	// resolved to its address when the configuration is assembled.
	upstreamProcTarget string
}

// Duration returns a pointer to d, for Route.Timeout.
func Duration(d time.Duration) *time.Duration { return &d }

// defaultRouteTimeout is RouteAction.timeout when unset.
const defaultRouteTimeout = 15 * time.Second

// withDefaults returns c with every Envoy default applied; the one place defaults live.
func withDefaults(c Config) Config {
	if c.FilterName == "" {
		c.FilterName = DefaultFilterName
	}
	if c.MessageTimeout == 0 {
		c.MessageTimeout = 200 * time.Millisecond
	}
	if c.StatusOnError == 0 {
		c.StatusOnError = http.StatusInternalServerError
	}
	if c.BufferLimit == 0 {
		c.BufferLimit = 1 << 20
	}
	if c.MaxHeadersCount == 0 {
		c.MaxHeadersCount = 100
	}
	if c.MaxHeadersKB == 0 {
		c.MaxHeadersKB = 60
	}
	if c.MutationRules == nil {
		c.MutationRules = &MutationRules{}
	}
	return c
}
