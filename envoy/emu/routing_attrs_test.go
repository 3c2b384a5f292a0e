package emu

import (
	"testing"
)

// TestXDSRouteAttributes: request_attributes xds.route_name and xds.virtual_host_name carry the
// route the connection manager matched before the filter chain ran (context.cc XDSLookupValues:
// StreamInfo::route()->routeName(), virtualHost()->name()); with no route they are absent.
func TestXDSRouteAttributes(t *testing.T) {
	h := newHarness(t, nil, func(c *Config) {
		c.RequestAttributes = []string{"xds.route_name", "xds.virtual_host_name"}
		c.StripAnyHostPort = true
		c.VirtualHosts = []VirtualHost{
			{Name: "keygate/pay", Domains: []string{"pay.egress.local"}, Routes: []Route{{Name: "keygate/pay", Prefix: "/", Cluster: "up"}}},
			{Name: "keygate/maps", Domains: []string{"maps.egress.local"}, Routes: []Route{{Name: "keygate/maps-route", Prefix: "/", Cluster: "up"}}},
		}
	})
	for _, tc := range []struct{ host, route, vhost string }{
		{"pay.egress.local", "keygate/pay", "keygate/pay"},
		{"MAPS.egress.local:10000", "keygate/maps-route", "keygate/maps"},
		{"maps.egress.local:x", "", ""},
	} {
		before := len(h.proc.messages())
		h.do("GET", "/x", "", map[string]string{"Host": tc.host})
		msgs := h.proc.messages()
		if len(msgs) == before {
			t.Fatalf("%s: no message", tc.host)
		}
		f := msgs[before].GetAttributes()[DefaultFilterName].GetFields()
		if got, ok := f["xds.route_name"]; (tc.route == "") == ok || got.GetStringValue() != tc.route {
			t.Errorf("%s: xds.route_name = %v (present %v), want %q", tc.host, got, ok, tc.route)
		}
		if got := f["xds.virtual_host_name"].GetStringValue(); got != tc.vhost {
			t.Errorf("%s: xds.virtual_host_name = %q, want %q", tc.host, got, tc.vhost)
		}
	}
}

// TestXDSClusterNameAttribute: xds.cluster_name is StreamInfo::upstreamClusterInfo()->name()
// (context.cc XDSLookupValues ClusterName). Downstream the connection manager sets it with the
// route (ActiveStream::refreshCachedRoute: the route's cluster, absent when the cluster
// manager has no such cluster). An upstream filter reads the downstream StreamInfo
// (router/upstream_request.cc, UpstreamFilterManager::streamInfo() returns the router's
// callbacks()->streamInfo()), so it sees the same cluster, and the caller's request attributes.
func TestXDSClusterNameAttribute(t *testing.T) {
	h := newHarness(t, nil, func(c *Config) {
		c.RequestAttributes = []string{"xds.cluster_name"}
		c.VirtualHosts[0].Routes = append([]Route{{Name: "gone", Path: "/gone", Cluster: "missing"}}, c.VirtualHosts[0].Routes...)
		up := c.Clusters["up"]
		up.UpstreamExtProc = &Config{ExtProcAddress: c.ExtProcAddress, FilterName: "up-filter",
			RequestAttributes: []string{"xds.cluster_name", "xds.route_name", "request.method"}}
		c.Clusters["up"] = up
	})
	h.do("GET", "/x", "", nil)
	var down, upstream map[string]bool
	for _, m := range h.proc.messages() {
		if a := m.GetAttributes()[DefaultFilterName]; a != nil {
			if got := a.GetFields()["xds.cluster_name"].GetStringValue(); got != "up" {
				t.Errorf("downstream xds.cluster_name = %q, want the route's cluster", got)
			}
			down = map[string]bool{}
		}
		if a := m.GetAttributes()["up-filter"]; a != nil {
			upstream = map[string]bool{}
			for k := range a.GetFields() {
				upstream[k] = true
			}
			if got := a.GetFields()["xds.cluster_name"].GetStringValue(); got != "up" {
				t.Errorf("upstream xds.cluster_name = %q, want the attempt's cluster", got)
			}
		}
	}
	if down == nil || upstream == nil {
		t.Fatalf("attributes missing: downstream %v upstream %v", down, upstream)
	}
	if !upstream["request.method"] || !upstream["xds.route_name"] {
		t.Errorf("upstream attributes %v: the caller's request attributes are missing", upstream)
	}
	before := len(h.proc.messages())
	h.do("GET", "/gone", "", nil)
	msgs := h.proc.messages()
	if len(msgs) == before {
		t.Fatal("no message for the route to a missing cluster")
	}
	if _, ok := msgs[before].GetAttributes()[DefaultFilterName].GetFields()["xds.cluster_name"]; ok {
		t.Error("xds.cluster_name present for a cluster the cluster manager does not have")
	}
}
