// Package routing is the one contract between Envoy's routing decision and keygate: which
// provider a request is for, and which hosts and paths may take part. Envoy decides first
// (virtual host by :authority, route, path normalization); keygate takes Envoy's decision (the
// route name, sent as an ext_proc attribute) instead of parsing :authority a second time. Where
// keygate still looks at a host (routes it did not name, config validation), it uses exactly
// Envoy's rules, written here once.
package routing

import (
	"strings"
)

// RouteAttribute is the CEL attribute keygate asks Envoy for in request_attributes: the name of
// the route Envoy matched for the request (source/extensions/filters/common/expr/context.cc,
// XDSLookupValues RouteName: StreamInfo::route()->routeName()). The connection manager picks the
// route from the request headers before the filter chain runs, so ext_proc's first message
// carries it; it is absent when no route matched (Envoy's router will answer 404).
const RouteAttribute = "xds.route_name"

// routePrefix marks the routes keygate's xDS pushes, one per provider. Provider names are
// [a-z0-9_-], so the route name maps back to exactly one provider.
const routePrefix = "keygate/"

// RouteName is the name of provider's route and virtual host in the pushed RouteConfiguration.
func RouteName(provider string) string { return routePrefix + provider }

// ProviderOf is the provider a route name names, when it is one of keygate's routes.
func ProviderOf(routeName string) (string, bool) {
	p, ok := strings.CutPrefix(routeName, routePrefix)
	return p, ok && p != ""
}

// HostKey is :authority as Envoy matches it against virtual host domains on keygate's listener
// (HCM strip_any_host_port, then lower case): HeaderUtility::stripPortFromHost removes a
// trailing ":port" only when getPortStart finds a ':' after any ']' and absl::SimpleAtoi parses
// the rest as a uint32; RouteMatcher::findVirtualHost lower-cases. "beta.egress.local:x" keeps
// its ":x" and matches no DNS-name domain.
func HostKey(authority string) string {
	return strings.ToLower(stripAnyHostPort(authority))
}

func stripAnyHostPort(host string) string {
	i := strings.LastIndexByte(host, ':')
	if i < 0 {
		return host
	}
	if j := strings.LastIndexByte(host, ']'); j > i {
		return host // inside an IPv6 literal
	}
	if !simpleAtoiUint32(host[i+1:]) {
		return host
	}
	return host[:i]
}

// simpleAtoiUint32 is absl::SimpleAtoi into a uint32: ASCII space trimmed at both ends, an
// optional '+', at least one decimal digit, no overflow.
func simpleAtoiUint32(s string) bool {
	s = strings.Trim(s, " \t\n\v\f\r")
	s = strings.TrimPrefix(s, "+")
	if s == "" {
		return false
	}
	var n uint64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return false
		}
		n = n*10 + uint64(c-'0')
		if n > 1<<32-1 {
			return false
		}
	}
	return true
}

// ClusterAttribute is the CEL attribute naming the cluster of the request (downstream: the
// route's cluster; in an upstream filter: the attempt's cluster), from StreamInfo::
// upstreamClusterInfo() (context.cc, XDSLookupValues ClusterName).
const ClusterAttribute = "xds.cluster_name"

// signedClusterPrefix marks a provider cluster that carries keygate's ext_proc as an upstream
// HTTP filter: the cluster's name is the contract. Envoy looks a route's cluster up by name
// for each request, so a request whose route names a signed cluster always runs through that
// filter, and one whose route names any other cluster never does. keygate signs such requests
// in the upstream phase only, and every other request in the downstream phase, whatever its
// own config says: during a push, or with a hand-written bootstrap, the cluster Envoy has
// decides, and no request leaves unsigned.
const signedClusterPrefix = "signed_provider_"

// SignedCluster is the name of provider's cluster when it signs in the upstream filter.
func SignedCluster(provider string) string { return signedClusterPrefix + provider }

// SignedProviderOf is the provider a signed cluster's name names.
func SignedProviderOf(cluster string) (string, bool) {
	p, ok := strings.CutPrefix(cluster, signedClusterPrefix)
	return p, ok && p != ""
}

// PhaseMetadata is the gRPC initial metadata xds puts in an ext_proc filter's grpc_service, so
// keygate knows which filter opened a stream: UpstreamPhase for a signed cluster's upstream
// filter (an upstream attempt, not a caller's request), IngressPhase for the ingress
// listener's (a provider's callback from the internet); none for the egress listener's. A
// caller sets HTTP headers, never the metadata of Envoy's own gRPC stream.
const (
	PhaseMetadata = "x-keygate-phase"
	UpstreamPhase = "upstream"
	IngressPhase  = "ingress"
)
