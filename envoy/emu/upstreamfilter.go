package emu

import (
	"context"
	"fmt"
	"net/http"

	extprocv3cfg "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"
	upstreamhttpv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/upstreams/http/v3"
	"google.golang.org/grpc"
)

// ext_proc as an upstream HTTP filter (docs/envoy-ext-proc.md section 10): a cluster's
// HttpProtocolOptions.http_filters [ext_proc, upstream_codec]. Each router attempt builds its
// own upstream filter chain (UpstreamRequest), so every attempt opens its own ext_proc stream;
// the headers are the router's map, carrying the previous attempt's mutations, and the body is
// a fresh copy of the router's buffer. Upstream, Filter::sendImmediateResponse returns early
// (send_immediate_resp_upstream_ignored) and clear_route_cache is ignored.

// attempt sends one router attempt: through the cluster's upstream ext_proc filter when it has
// one. h is the router's header map; the filter's mutations stay in it for the next attempt.
func (e *Emulator) attempt(ctx context.Context, r *http.Request, route *Route, cl *upstreamCluster, h *headerMap, m *message, suppress bool) (*upstreamResponse, *localReply, error) {
	if cl.filter == nil {
		return forward(ctx, route, cl, h.clone(), m.body, m.hasBody, suppress)
	}
	ux := &exchange{snap: cl.filter, st: &e.st, r: r, upstream: true, cluster: cl.name}
	ux.setup(nil)    // per-route ext_proc config is the downstream filter's
	ux.route = route // the attributes read the downstream StreamInfo (UpstreamFilterManager::streamInfo)
	defer ux.finish()
	um := &message{headers: h.clone(), body: append([]byte(nil), m.body...), hasBody: m.hasBody}
	if lr := ux.requestPath(um); lr != nil {
		return nil, ux.stopped(ctx), nil
	}
	*h = um.headers.clone()
	u, lr, err := forward(ctx, route, cl, um.headers.clone(), um.body, um.hasBody, suppress)
	if err != nil || lr != nil {
		return u, lr, err
	}
	final, lr := ux.responsePath(u)
	if lr != nil {
		return nil, ux.stopped(ctx), nil
	}
	return &upstreamResponse{headers: final.headers, body: final.body, trailers: final.trailers, eos: !final.hasBody}, nil, nil
}

// stopped is what follows a local reply the upstream filter would send: Envoy ignores it and
// the filter never continues the attempt, so the router's timeout ends the request (504) and
// nothing reaches the upstream.
func (x *exchange) stopped(ctx context.Context) *localReply {
	x.st.UpstreamIgnored.Add(1)
	<-ctx.Done()
	return routerReply(http.StatusGatewayTimeout, "upstream request timeout", "upstream_response_timeout")
}

// convertUpstreamFilters reads an ext_proc filter from HttpProtocolOptions.http_filters (the
// other entries, upstream_codec among them, need nothing). It returns the filter's config and
// its envoy_grpc cluster, or nil.
func convertUpstreamFilters(po *upstreamhttpv3.HttpProtocolOptions) (*Config, string, error) {
	for _, f := range po.GetHttpFilters() {
		ep := &extprocv3cfg.ExternalProcessor{}
		if tc := f.GetTypedConfig(); tc == nil || !tc.MessageIs(ep) {
			continue
		} else if err := tc.UnmarshalTo(ep); err != nil {
			return nil, "", fmt.Errorf("http filter %q: %w", f.GetName(), err)
		}
		p := &listenerParts{}
		if err := applyExternalProcessor(&p.cfg, p, f.GetName(), ep); err != nil {
			return nil, "", fmt.Errorf("http filter %q: %w", f.GetName(), err)
		}
		return &p.cfg, p.procTarget, nil
	}
	return nil, "", nil
}

// resolveUpstreamFilters points each cluster's upstream ext_proc filter at its gRPC cluster's
// first endpoint (or at conn, when the emulator was given one).
func resolveUpstreamFilters(clusters map[string]Cluster, conn grpc.ClientConnInterface) error {
	for name, c := range clusters {
		if c.UpstreamExtProc == nil || c.upstreamProcTarget == "" {
			continue
		}
		up := *c.UpstreamExtProc
		if conn != nil {
			up.ExtProcConn, up.ExtProcAddress = conn, ""
		} else if pc, ok := clusters[c.upstreamProcTarget]; ok && len(pc.Endpoints) > 0 {
			up.ExtProcAddress, up.ExtProcTLS, up.extProcTLSKey = pc.Endpoints[0], pc.TLS, pc.tlsKey
		} else {
			return errIncomplete
		}
		c.UpstreamExtProc = &up
		clusters[name] = c
	}
	return nil
}
