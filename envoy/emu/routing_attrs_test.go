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
