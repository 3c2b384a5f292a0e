package emu

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	mutationv3 "github.com/envoyproxy/go-control-plane/envoy/config/common/mutation_rules/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	extprocv3cfg "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"
	routerv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/router/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	upstreamhttpv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/upstreams/http/v3"
	"google.golang.org/protobuf/types/known/anypb"
)

// ClusterResolver maps an xDS cluster to endpoints and upstream TLS; tests use it to point DNS
// clusters at loopback. Returning nil endpoints falls back to the load_assignment addresses.
type ClusterResolver func(clusterName string, c *clusterv3.Cluster) (endpoints []string, tlsConfig *tls.Config)

// listenerParts is what the emulator takes from a Listener and its HCM.
type listenerParts struct {
	cfg        Config // ext_proc fields, HCM limits, listener buffer limit
	routeName  string // rds.route_config_name ("" when inline)
	inline     *routev3.RouteConfiguration
	procTarget string // ext_proc grpc_service cluster (envoy_grpc) or "" with cfg.ExtProcAddress set
}

const hcmTypeURL = "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager"

func convertListener(l *listenerv3.Listener) (*listenerParts, error) {
	var hcm *hcmv3.HttpConnectionManager
	for _, fc := range l.GetFilterChains() {
		// The emulator serves plain HTTP only: a listener Envoy would run with TLS (egress.tls,
		// client certificates) is refused rather than served in plaintext without them.
		if fc.GetTransportSocket() != nil {
			return nil, fmt.Errorf("listener %q: %w: downstream transport socket %q (the emulator cannot terminate TLS)",
				l.GetName(), ErrUnsupported, fc.GetTransportSocket().GetName())
		}
		for _, f := range fc.GetFilters() {
			if tc := f.GetTypedConfig(); tc != nil && tc.GetTypeUrl() == hcmTypeURL {
				hcm = &hcmv3.HttpConnectionManager{}
				if err := tc.UnmarshalTo(hcm); err != nil {
					return nil, fmt.Errorf("listener %q: %w", l.GetName(), err)
				}
			}
		}
	}
	if hcm == nil {
		return nil, fmt.Errorf("listener %q: no http_connection_manager", l.GetName())
	}
	p := &listenerParts{cfg: Config{Disabled: true, StripAnyHostPort: hcm.GetStripAnyHostPort(),
		NormalizePath: hcm.GetNormalizePath().GetValue(), MergeSlashes: hcm.GetMergeSlashes(),
		PathWithEscapedSlashesAction: hcm.GetPathWithEscapedSlashesAction()}}
	if v := l.GetPerConnectionBufferLimitBytes(); v != nil {
		p.cfg.BufferLimit = int(v.GetValue())
	}
	p.cfg.MaxHeadersKB = int(hcm.GetMaxRequestHeadersKb().GetValue())
	p.cfg.MaxHeadersCount = int(hcm.GetCommonHttpProtocolOptions().GetMaxHeadersCount().GetValue())
	switch {
	case hcm.GetRds() != nil:
		p.routeName = hcm.GetRds().GetRouteConfigName()
	case hcm.GetRouteConfig() != nil:
		p.inline = hcm.GetRouteConfig()
	default:
		return nil, fmt.Errorf("listener %q: %w: route specifier other than rds or route_config", l.GetName(), ErrUnsupported)
	}
	for _, f := range hcm.GetHttpFilters() {
		if rt := (&routerv3.Router{}); f.GetTypedConfig().MessageIs(rt) {
			if err := f.GetTypedConfig().UnmarshalTo(rt); err != nil {
				return nil, fmt.Errorf("http filter %q: %w", f.GetName(), err)
			}
			p.cfg.SuppressEnvoyHeaders = rt.GetSuppressEnvoyHeaders()
			continue
		}
		ep := &extprocv3cfg.ExternalProcessor{}
		tc := f.GetTypedConfig()
		if tc == nil || !tc.MessageIs(ep) {
			continue
		}
		if err := tc.UnmarshalTo(ep); err != nil {
			return nil, fmt.Errorf("http filter %q: %w", f.GetName(), err)
		}
		if err := applyExternalProcessor(&p.cfg, p, f.GetName(), ep); err != nil {
			return nil, fmt.Errorf("http filter %q: %w", f.GetName(), err)
		}
	}
	return p, nil
}

// applyExternalProcessor maps ExternalProcessor fields one to one onto Config.
func applyExternalProcessor(c *Config, p *listenerParts, name string, ep *extprocv3cfg.ExternalProcessor) error {
	c.Disabled = false
	c.FilterName = name
	c.ProcessingMode = ep.GetProcessingMode()
	c.FailureModeAllow = ep.GetFailureModeAllow()
	c.AllowModeOverride = ep.GetAllowModeOverride()
	c.AllowedOverrideModes = ep.GetAllowedOverrideModes()
	c.AllowContentLengthHeader = ep.GetAllowContentLengthHeader()
	c.RequestAttributes = ep.GetRequestAttributes()
	c.ResponseAttributes = ep.GetResponseAttributes()
	if d := ep.GetMaxMessageTimeout(); d != nil {
		c.MaxMessageTimeout = d.AsDuration()
	}
	if d := ep.GetMessageTimeout(); d != nil {
		c.MessageTimeout = d.AsDuration()
	}
	if s := ep.GetStatusOnError(); s != nil {
		c.StatusOnError = int(s.GetCode())
	}
	if mr := ep.GetMutationRules(); mr != nil {
		c.MutationRules = convertMutationRules(mr)
	}
	if ep.GetHttpService() != nil {
		return fmt.Errorf("%w: http_service", ErrUnsupported)
	}
	for _, hv := range ep.GetGrpcService().GetInitialMetadata() {
		c.InitialMetadata = append(c.InitialMetadata, [2]string{strings.ToLower(hv.GetKey()), hv.GetValue() + string(hv.GetRawValue())})
	}
	switch gs := ep.GetGrpcService(); {
	case gs.GetEnvoyGrpc() != nil:
		p.procTarget = gs.GetEnvoyGrpc().GetClusterName()
	case gs.GetGoogleGrpc() != nil:
		c.ExtProcAddress = gs.GetGoogleGrpc().GetTargetUri()
	default:
		return fmt.Errorf("%w: One and only one of grpc_service or http_service must be set", ErrInvalidConfig)
	}
	return nil
}

func convertMutationRules(mr *mutationv3.HeaderMutationRules) *MutationRules {
	return &MutationRules{
		AllowAllRouting: mr.GetAllowAllRouting().GetValue(), AllowEnvoy: mr.GetAllowEnvoy().GetValue(),
		DisallowSystem: mr.GetDisallowSystem().GetValue(), DisallowAll: mr.GetDisallowAll().GetValue(),
		DisallowIsError:    mr.GetDisallowIsError().GetValue(),
		AllowExpression:    mr.GetAllowExpression().GetRegex(),
		DisallowExpression: mr.GetDisallowExpression().GetRegex(),
	}
}

// convertRoutes maps a RouteConfiguration onto Config.VirtualHosts.
func convertRoutes(c *Config, rc *routev3.RouteConfiguration) error {
	c.IgnorePortInHostMatching = rc.GetIgnorePortInHostMatching()
	c.VirtualHosts = nil
	for _, vh := range rc.GetVirtualHosts() {
		out := VirtualHost{Name: vh.GetName(), Domains: vh.GetDomains()}
		for _, r := range vh.GetRoutes() {
			er, err := convertRoute(r, c.FilterName)
			if err != nil {
				return fmt.Errorf("virtual host %q: %w", vh.GetName(), err)
			}
			out.Routes = append(out.Routes, er)
		}
		c.VirtualHosts = append(c.VirtualHosts, out)
	}
	return nil
}

func convertRoute(r *routev3.Route, filterName string) (Route, error) {
	out := Route{Name: r.GetName(), Prefix: r.GetMatch().GetPrefix(), Path: r.GetMatch().GetPath()}
	if out.Prefix == "" && out.Path == "" {
		return out, fmt.Errorf("route %q: %w: match other than prefix or path", r.GetName(), ErrUnsupported)
	}
	switch {
	case r.GetRoute() != nil:
		a := r.GetRoute()
		if a.GetCluster() == "" {
			return out, fmt.Errorf("route %q: %w: cluster specifier other than cluster", r.GetName(), ErrUnsupported)
		}
		out.Cluster, out.PrefixRewrite, out.HostRewriteLiteral = a.GetCluster(), a.GetPrefixRewrite(), a.GetHostRewriteLiteral()
		if a.GetTimeout() != nil {
			out.Timeout = Duration(a.GetTimeout().AsDuration())
		}
		out.RetryPolicy = convertRetryPolicy(a.GetRetryPolicy())
	case r.GetDirectResponse() != nil:
		d := r.GetDirectResponse()
		out.DirectResponse = &DirectResponse{Status: int(d.GetStatus()), Body: string(d.GetBody().GetInlineBytes()) + d.GetBody().GetInlineString()}
	default:
		return out, fmt.Errorf("route %q: %w: action other than route or direct_response", r.GetName(), ErrUnsupported)
	}
	if a, ok := r.GetTypedPerFilterConfig()[filterName]; ok {
		pr, err := convertPerRoute(a)
		if err != nil {
			return out, fmt.Errorf("route %q typed_per_filter_config: %w", r.GetName(), err)
		}
		out.ExtProc = pr
	}
	return out, nil
}

func convertPerRoute(a *anypb.Any) (*ExtProcPerRoute, error) {
	pr := &extprocv3cfg.ExtProcPerRoute{}
	if err := a.UnmarshalTo(pr); err != nil {
		return nil, err
	}
	if pr.GetDisabled() {
		return &ExtProcPerRoute{Disabled: true}, nil
	}
	out := &ExtProcPerRoute{ProcessingMode: pr.GetOverrides().GetProcessingMode()}
	if f := pr.GetOverrides().GetFailureModeAllow(); f != nil {
		v := f.GetValue()
		out.FailureModeAllow = &v
	}
	return out, nil
}

// convertCluster maps a Cluster to endpoints, TLS and protocol; resolve may override the first two.
func convertCluster(c *clusterv3.Cluster, resolve ClusterResolver, secrets map[string]*tlsv3.Secret) (Cluster, error) {
	out := Cluster{}
	if d := c.GetConnectTimeout(); d != nil {
		out.ConnectTimeout = d.AsDuration()
	}
	for _, le := range c.GetLoadAssignment().GetEndpoints() {
		for _, lb := range le.GetLbEndpoints() {
			sa := lb.GetEndpoint().GetAddress().GetSocketAddress()
			if sa == nil {
				continue
			}
			out.Endpoints = append(out.Endpoints, net.JoinHostPort(sa.GetAddress(), strconv.Itoa(int(sa.GetPortValue()))))
		}
	}
	for _, hc := range c.GetHealthChecks() {
		out.HealthChecked = out.HealthChecked || hc.GetGrpcHealthCheck() != nil
	}
	if ts := c.GetTransportSocket(); ts != nil && ts.GetTypedConfig() != nil {
		utc := &tlsv3.UpstreamTlsContext{}
		if err := ts.GetTypedConfig().UnmarshalTo(utc); err != nil {
			return out, fmt.Errorf("cluster %q transport_socket: %w", c.GetName(), err)
		}
		var tc *tls.Config
		var err error
		if usesSDS(utc) {
			tc, err = sdsTLS(utc, secrets)
			out.tlsKey = utc.String()
		} else {
			tc, err = upstreamTLS(utc)
		}
		if errors.Is(err, errIncomplete) {
			return out, err
		}
		if err != nil {
			return out, fmt.Errorf("%w: cluster %q: %v", ErrInvalidConfig, c.GetName(), err)
		}
		out.TLS = tc
	}
	if a, ok := c.GetTypedExtensionProtocolOptions()["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"]; ok {
		po := &upstreamhttpv3.HttpProtocolOptions{}
		if err := a.UnmarshalTo(po); err != nil {
			return out, fmt.Errorf("cluster %q protocol options: %w", c.GetName(), err)
		}
		out.HTTP2 = po.GetExplicitHttpConfig().GetHttp2ProtocolOptions() != nil
		var err error
		if out.UpstreamExtProc, out.upstreamProcTarget, err = convertUpstreamFilters(po); err != nil {
			return out, fmt.Errorf("cluster %q http_filters: %w", c.GetName(), err)
		}
	}
	if resolve != nil {
		if eps, tc := resolve(c.GetName(), c); eps != nil {
			out.Endpoints, out.TLS = eps, tc
		}
	}
	if out.ConnectTimeout < 0 || out.ConnectTimeout > time.Hour {
		return out, fmt.Errorf("%w: cluster %q connect_timeout", ErrInvalidConfig, c.GetName())
	}
	return out, nil
}

// upstreamTLS mirrors UpstreamTlsContext: sni, and verification only when trusted_ca is set
// (Envoy does not verify the server otherwise). trusted_ca may be inline or a file, which is
// how keygate's xDS names it; a file Envoy cannot read makes the cluster invalid, as in Envoy.
func upstreamTLS(utc *tlsv3.UpstreamTlsContext) (*tls.Config, error) {
	tc := &tls.Config{ServerName: utc.GetSni(), InsecureSkipVerify: true} //nolint:gosec // Envoy's default
	ca := utc.GetCommonTlsContext().GetValidationContext().GetTrustedCa()
	pem := append(ca.GetInlineBytes(), ca.GetInlineString()...)
	if name := ca.GetFilename(); name != "" {
		b, err := os.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("trusted_ca: %w", err)
		}
		pem = b
	}
	if len(pem) > 0 {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, errors.New("trusted_ca holds no PEM certificate")
		}
		tc.RootCAs, tc.InsecureSkipVerify = pool, false
	}
	return tc, nil
}
