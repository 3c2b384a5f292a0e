package xds

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
	"time"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	httpv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/upstreams/http/v3"
	matcherv3 "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/internal/routing"
)

// Extension names Envoy looks these typed configs up by.
const (
	httpProtocolOptionsKey = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions"
	tlsTransportSocket     = "envoy.transport_sockets.tls"
)

// upstream is a provider's upstream URL taken apart.
type upstream struct {
	scheme string
	host   string // without brackets
	port   uint32
	// authority is what keygate writes to :authority: host, plus the port when the URL has one.
	authority string
	ip        bool
}

func parseUpstream(raw string) (upstream, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return upstream{}, fmt.Errorf("not a URL: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return upstream{}, fmt.Errorf("scheme %q is not http or https", u.Scheme)
	}
	host := u.Hostname()
	if host == "" {
		return upstream{}, fmt.Errorf("has no host")
	}
	port := uint32(443)
	if u.Scheme == "http" {
		port = 80
	}
	if p := u.Port(); p != "" {
		n, err := strconv.ParseUint(p, 10, 16)
		if err != nil || n == 0 {
			return upstream{}, fmt.Errorf("port %q is not 1-65535", p)
		}
		port = uint32(n)
	}
	return upstream{scheme: u.Scheme, host: host, port: port, authority: u.Host, ip: net.ParseIP(host) != nil}, nil
}

// providerCluster is one provider's upstream: DNS (or static for an IP literal), TLS with
// server verification for https, explicit HTTP/1.1 or HTTP/2. A signed cluster (signed: the
// provider signs upstream, config.File.SignsUpstream) also runs keygate's ext_proc as an
// upstream HTTP filter, once per router attempt.
func providerCluster(p config.Provider, up upstream, signed bool, o Options) (*clusterv3.Cluster, error) {
	c := baseCluster(providerClusterName(p.Name, signed), up.host, up.port, up.ip, p.Upstream.ConnectTimeout.Or(DefaultConnectTimeout))
	var filters []*hcmv3.HttpFilter
	if signed {
		var err error
		if filters, err = upstreamFilters(o); err != nil {
			return nil, err
		}
	}
	if err := setProtocol(c, p.Upstream.HTTP2, filters...); err != nil {
		return nil, err
	}
	if up.scheme != "https" {
		return c, nil
	}
	sni := p.Upstream.SNI
	if sni == "" && !up.ip {
		sni = up.host
	}
	ca := p.Upstream.CAFile
	if ca == "" {
		ca = o.DefaultCAFile
	}
	// The certificate must name what we asked for: the SNI, or the IP literal.
	san := &tlsv3.SubjectAltNameMatcher{SanType: tlsv3.SubjectAltNameMatcher_DNS, Matcher: exact(sni)}
	if sni == "" {
		san = &tlsv3.SubjectAltNameMatcher{SanType: tlsv3.SubjectAltNameMatcher_IP_ADDRESS, Matcher: exact(up.host)}
	}
	alpn := []string{"http/1.1"}
	if p.Upstream.HTTP2 {
		alpn = []string{"h2"}
	}
	tls := &tlsv3.UpstreamTlsContext{
		Sni: sni,
		CommonTlsContext: &tlsv3.CommonTlsContext{
			AlpnProtocols: alpn,
			ValidationContextType: &tlsv3.CommonTlsContext_ValidationContext{
				ValidationContext: &tlsv3.CertificateValidationContext{
					TrustedCa:                 &corev3.DataSource{Specifier: &corev3.DataSource_Filename{Filename: ca}},
					MatchTypedSubjectAltNames: []*tlsv3.SubjectAltNameMatcher{san},
				},
			},
		},
	}
	var err error
	if c.TransportSocket, err = tlsSocket(tls); err != nil {
		return nil, err
	}
	return c, nil
}

func tlsSocket(utc *tlsv3.UpstreamTlsContext) (*corev3.TransportSocket, error) {
	anyTLS, err := pack(utc)
	if err != nil {
		return nil, err
	}
	return &corev3.TransportSocket{
		Name:       tlsTransportSocket,
		ConfigType: &corev3.TransportSocket_TypedConfig{TypedConfig: anyTLS},
	}, nil
}

// extProcCluster is keygate's ext_proc gRPC server: HTTP/2, in mutual TLS when keygate serves
// it so, else cleartext.
func extProcCluster(o Options) (*clusterv3.Cluster, error) {
	host, portText, err := net.SplitHostPort(o.ExtProcAddress)
	if err != nil {
		return nil, fmt.Errorf("ext_proc address %q: want host:port", o.ExtProcAddress)
	}
	port, err := strconv.ParseUint(portText, 10, 16)
	if err != nil || port == 0 {
		return nil, fmt.Errorf("ext_proc address %q: port is not 1-65535", o.ExtProcAddress)
	}
	c := baseCluster(o.ExtProcClusterName, host, uint32(port), net.ParseIP(host) != nil, DefaultExtProcConnect)
	if c.GetType() == clusterv3.Cluster_LOGICAL_DNS {
		// A name for keygate is a Service over its replicas: every address is a host, balanced
		// and health-checked one by one (LOGICAL_DNS would pin one address per connection).
		c.ClusterDiscoveryType = &clusterv3.Cluster_Type{Type: clusterv3.Cluster_STRICT_DNS}
	}
	if err := setProtocol(c, true); err != nil {
		return nil, err
	}
	// Envoy learns that a replica drains only through this check (keygate's gRPC health goes
	// NOT_SERVING on SIGTERM and stays served for --drain-delay, above the interval): it then
	// sends new streams to the other replicas. One failed check marks the host, one passed
	// check brings it back.
	c.HealthChecks = []*corev3.HealthCheck{{
		Timeout: durationpb.New(time.Second), Interval: durationpb.New(ExtProcHealthInterval),
		NoTrafficInterval:  durationpb.New(ExtProcHealthInterval),
		UnhealthyThreshold: wrapperspb.UInt32(1), HealthyThreshold: wrapperspb.UInt32(1),
		HealthChecker: &corev3.HealthCheck_GrpcHealthCheck_{GrpcHealthCheck: &corev3.HealthCheck_GrpcHealthCheck{}},
	}}
	if t := o.ExtProcTLS; t != nil && t.Envoy != nil {
		utc, err := extProcTLS(t.Envoy)
		if err != nil {
			return nil, fmt.Errorf("listen.tls.envoy.server_id: %w", err)
		}
		if c.TransportSocket, err = tlsSocket(utc); err != nil {
			return nil, err
		}
	}
	return c, nil
}

func baseCluster(name, host string, port uint32, ip bool, connect time.Duration) *clusterv3.Cluster {
	// LOGICAL_DNS suits third-party APIs behind many rotating addresses: one address at a time,
	// re-resolved on new connections. IP literals need no resolution at all.
	kind := clusterv3.Cluster_LOGICAL_DNS
	if ip {
		kind = clusterv3.Cluster_STATIC
	}
	return &clusterv3.Cluster{
		Name:                 name,
		ClusterDiscoveryType: &clusterv3.Cluster_Type{Type: kind},
		ConnectTimeout:       durationpb.New(connect),
		LoadAssignment: &endpointv3.ClusterLoadAssignment{
			ClusterName: name,
			Endpoints: []*endpointv3.LocalityLbEndpoints{{
				LbEndpoints: []*endpointv3.LbEndpoint{{
					HostIdentifier: &endpointv3.LbEndpoint_Endpoint{Endpoint: &endpointv3.Endpoint{
						Address: socketAddress(host, port),
					}},
				}},
			}},
		},
	}
}

// setProtocol pins HTTP/1.1 or HTTP/2 the non-deprecated way (typed_extension_protocol_options),
// with the cluster's upstream HTTP filters, if any.
func setProtocol(c *clusterv3.Cluster, http2 bool, filters ...*hcmv3.HttpFilter) error {
	explicit := &httpv3.HttpProtocolOptions_ExplicitHttpConfig{
		ProtocolConfig: &httpv3.HttpProtocolOptions_ExplicitHttpConfig_HttpProtocolOptions{
			HttpProtocolOptions: &corev3.Http1ProtocolOptions{},
		},
	}
	if http2 {
		explicit.ProtocolConfig = &httpv3.HttpProtocolOptions_ExplicitHttpConfig_Http2ProtocolOptions{
			Http2ProtocolOptions: &corev3.Http2ProtocolOptions{},
		}
	}
	opts, err := pack(&httpv3.HttpProtocolOptions{
		UpstreamProtocolOptions: &httpv3.HttpProtocolOptions_ExplicitHttpConfig_{ExplicitHttpConfig: explicit},
		HttpFilters:             filters,
	})
	if err != nil {
		return err
	}
	c.TypedExtensionProtocolOptions = map[string]*anypb.Any{httpProtocolOptionsKey: opts}
	return nil
}

func socketAddress(host string, port uint32) *corev3.Address {
	return &corev3.Address{Address: &corev3.Address_SocketAddress{SocketAddress: &corev3.SocketAddress{
		Address:       host,
		PortSpecifier: &corev3.SocketAddress_PortValue{PortValue: port},
	}}}
}

func exact(s string) *matcherv3.StringMatcher {
	return &matcherv3.StringMatcher{MatchPattern: &matcherv3.StringMatcher_Exact{Exact: s}}
}

// providerClusterName is a provider's cluster: the signed name when it signs upstream.
func providerClusterName(provider string, signed bool) string {
	if signed {
		return routing.SignedCluster(provider)
	}
	return ClusterName(provider)
}
