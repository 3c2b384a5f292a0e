package emu

import (
	"crypto/x509"
	"net/http"

	"google.golang.org/protobuf/types/known/structpb"
)

// builtinAttribute computes the CEL attributes the emulator knows (Envoy's attribute
// vocabulary); ok is false when Envoy would have no value. x is the exchange asking: its route
// (matched by the connection manager before the filter chain ran, nil: none), and for an
// upstream filter the cluster of the attempt.
func (s *snapshot) builtinAttribute(r *http.Request, x *exchange, name string) (any, bool) {
	route := x.route
	if name == "xds.cluster_name" {
		// XDSLookupValues ClusterName (source/extensions/filters/common/expr/context.cc):
		// StreamInfo::upstreamClusterInfo()->name(). The connection manager sets it with the
		// route (ActiveStream::refreshCachedRoute: the route's cluster, when the cluster manager
		// has it). An upstream filter reads the same StreamInfo: UpstreamFilterManager::
		// streamInfo() returns the router's callbacks()->streamInfo() (router/upstream_request.cc),
		// so there it is the attempt's cluster, the route's.
		if x.upstream {
			return x.cluster, x.cluster != ""
		}
		if route != nil {
			if _, ok := s.clusters[route.Cluster]; ok {
				return route.Cluster, true
			}
		}
		return nil, false
	}
	// Every other attribute, upstream filters included (same StreamInfo, see above), describes
	// the caller's request and connection.
	var peer *x509.Certificate
	if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
		peer = r.TLS.PeerCertificates[0]
	}
	switch name {
	case "connection.mtls":
		return peer != nil, r.TLS != nil
	case "connection.uri_san_peer_certificate":
		if peer != nil && len(peer.URIs) > 0 {
			return peer.URIs[0].String(), true
		}
	case "connection.dns_san_peer_certificate":
		if peer != nil && len(peer.DNSNames) > 0 {
			return peer.DNSNames[0], true
		}
	case "connection.subject_peer_certificate":
		if peer != nil {
			return peer.Subject.String(), true
		}
	case "request.path":
		return r.RequestURI, true
	case "request.method":
		return r.Method, true
	case "request.host":
		return r.Host, true
	case "request.protocol":
		return r.Proto, true
	case "source.address":
		return r.RemoteAddr, true
	case "xds.route_name": // XDSLookupValues RouteName: route()->routeName(), absent without a route
		if route != nil {
			return route.Name, true
		}
	case "xds.virtual_host_name": // VirtualHostName: virtualHost()->name()
		if route != nil {
			return s.routes.vhostOf[route], true
		}
	}
	return nil, false
}

// attributes builds the attributes map for the first message of direction dir (0 request,
// 1 response), keyed by the filter name, or nil when none are configured.
func (s *snapshot) attributes(r *http.Request, x *exchange, dir int) map[string]*structpb.Struct {
	names := s.cfg.RequestAttributes
	if dir == 1 {
		names = s.cfg.ResponseAttributes
	}
	if len(names) == 0 {
		return nil
	}
	var hooked map[string]any
	if s.cfg.AttributeHook != nil {
		hooked = s.cfg.AttributeHook(r)
	}
	fields := map[string]*structpb.Value{}
	for _, n := range names {
		v, ok := hooked[n]
		if !ok {
			v, ok = s.builtinAttribute(r, x, n)
		}
		if !ok {
			continue
		}
		if pv, err := structpb.NewValue(v); err == nil {
			fields[n] = pv
		}
	}
	return map[string]*structpb.Struct{s.cfg.FilterName: {Fields: fields}}
}
