package extproc

import (
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"

	"github.com/keygate/keygate/internal/routing"
	"github.com/keygate/keygate/internal/tenancy"
)

// Attribute names keygate asks Envoy for (request_attributes in the filter config). Envoy puts
// their values in attributes["envoy.filters.http.ext_proc"], keyed by the expression text, on
// the first message of the request direction only.
const (
	attributesNamespace = "envoy.filters.http.ext_proc"
	AttrPeerURISAN      = tenancy.SPIFFEAttribute // the caller's SPIFFE ID under mTLS, as xds asks Envoy for it
	AttrRouteName       = routing.RouteAttribute  // the route Envoy matched: it names the provider
	// AttrClusterName is the route's cluster downstream, the attempt's cluster upstream: a
	// signed cluster (routing.SignedCluster) moves signing to the upstream phase.
	AttrClusterName = routing.ClusterAttribute
)

func clusterName(msg *extprocv3.ProcessingRequest) string { return attribute(msg, AttrClusterName) }

func spiffeID(msg *extprocv3.ProcessingRequest) string { return attribute(msg, AttrPeerURISAN) }

func routeName(msg *extprocv3.ProcessingRequest) string { return attribute(msg, AttrRouteName) }

func attribute(msg *extprocv3.ProcessingRequest, name string) string {
	attrs, ok := msg.GetAttributes()[attributesNamespace]
	if !ok {
		return ""
	}
	return attrs.GetFields()[name].GetStringValue()
}
