package xds

import (
	"fmt"
	"strings"

	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/internal/routing"
)

// retryOn are the failures safe to retry for a signed request: it never reached the provider
// (connect failure, or an HTTP/2 stream the provider refused before processing it). Not
// "reset": the router's doRetry replays the same signed headers and body, and a reset after
// the provider read the request would submit a payment twice or be refused as a nonce replay.
const retryOn = "connect-failure,refused-stream"

// routeTable builds the route configuration: one virtual host per provider, named only by the
// hosts callers use. keygate rewrites :authority to the upstream host but does not clear the
// route cache, so routing never looks at the upstream host: several providers may share one
// upstream (two tenants of the same API) and each keeps its own cluster, timeout and retries.
type routeTable struct {
	rc      *routev3.RouteConfiguration
	domains map[string]string // lower-case domain -> provider whose virtual host has it
}

func newRouteTable(name string, providers []config.Provider) *routeTable {
	return &routeTable{
		rc:      &routev3.RouteConfiguration{Name: name, VirtualHosts: make([]*routev3.VirtualHost, 0, len(providers))},
		domains: make(map[string]string, len(providers)),
	}
}

// add appends provider p's virtual host; path names p in errors (providers[i]). signed: p
// signs in its cluster's upstream filter (config.File.SignsUpstream).
func (t *routeTable) add(path string, p config.Provider, up upstream, signed bool) error {
	// The route's name is what keygate identifies the provider by: Envoy sends it with each
	// request (routing.RouteAttribute), so keygate signs for the provider Envoy routes to.
	if p.Name == "" || strings.ContainsAny(p.Name, "/ ") {
		return fmt.Errorf("%s.name: %q cannot name a route", path, p.Name)
	}
	vh := &routev3.VirtualHost{Name: routing.RouteName(p.Name)}
	for i, h := range p.Hosts {
		if err := routing.CheckHost(h); err != nil {
			return fmt.Errorf("%s.hosts[%d]: host %w", path, i, err)
		}
		if other, dup := t.domains[h]; dup {
			return fmt.Errorf("%s.hosts[%d]: %q is already routed to provider %q", path, i, h, other)
		}
		t.domains[h] = p.Name
		vh.Domains = append(vh.Domains, h) // validated: exact lower-case names
	}
	action := &routev3.RouteAction{
		ClusterSpecifier: &routev3.RouteAction_Cluster{Cluster: providerClusterName(p.Name, signed)},
		Timeout:          durationpb.New(p.Upstream.Timeout.Or(DefaultRouteTimeout)),
		// keygate sets :authority to the upstream host itself; the route says the same, so the
		// Host that leaves is right whichever filter ran last.
		HostRewriteSpecifier: &routev3.RouteAction_HostRewriteLiteral{HostRewriteLiteral: up.authority},
	}
	switch r := p.Upstream.Retries; {
	case r < 0:
		return fmt.Errorf("%s.upstream.retries: must not be negative", path)
	case signed:
		// The one retry after a rejected token is the router's: the upstream filter drops the
		// token on the attempt's 401 and signs the next attempt with a fresh one. The body of
		// each attempt is a copy of the router's buffer, bounded by the connection's buffer
		// limit (limits.max_body_bytes, egressListener), so no body keygate accepts abandons
		// the retry (retry_or_shadow_abandoned).
		codes := make([]uint32, 0, len(p.Token.RetryStatuses()))
		for _, c := range p.Token.RetryStatuses() {
			codes = append(codes, uint32(c))
		}
		// upstream.retries keeps its meaning (connect failures); the budget is shared.
		on := "retriable-status-codes"
		if r > 0 {
			on = retryOn + "," + on
		}
		action.RetryPolicy = &routev3.RetryPolicy{RetryOn: on, RetriableStatusCodes: codes,
			NumRetries: wrapperspb.UInt32(uint32(max(r, 1)))}
	case r > 0:
		action.RetryPolicy = &routev3.RetryPolicy{RetryOn: retryOn, NumRetries: wrapperspb.UInt32(uint32(r))}
	}
	vh.Routes = []*routev3.Route{{
		Name:   routing.RouteName(p.Name),
		Match:  &routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_Prefix{Prefix: "/"}},
		Action: &routev3.Route_Route{Route: action},
	}}
	t.rc.VirtualHosts = append(t.rc.VirtualHosts, vh)
	return nil
}
