package envoyconfig

import (
	"errors"
	"fmt"
	"sort"
	"strconv"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	httpv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/upstreams/http/v3"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// HTTPProtocolOptionsKey is where a cluster's HttpProtocolOptions live in
// typed_extension_protocol_options.
const HTTPProtocolOptionsKey = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions"

// Reference errors, for errors.Is.
var (
	ErrMissingCluster = errors.New("names a cluster that does not exist")
	ErrNotHTTP2       = errors.New("is a gRPC service on a cluster without explicit HTTP/2")
)

// CheckReferences walks msgs (listeners, route configurations, a bootstrap; Anys included) and
// checks that every route (cluster, weighted_clusters) and every envoy_grpc service names one
// of clusters, and that the clusters behind gRPC services speak HTTP/2.
func CheckReferences(clusters []*clusterv3.Cluster, msgs ...proto.Message) error {
	return checkRefs(clusters, false, msgs...)
}

func checkRefs(clusters []*clusterv3.Cluster, allowMissing bool, msgs ...proto.Message) error {
	byName := make(map[string]*clusterv3.Cluster, len(clusters))
	for _, c := range clusters {
		byName[c.GetName()] = c
	}
	var errs []error
	http2 := map[string]bool{}
	// check renders the path only for a broken reference: a snapshot has thousands of routes.
	check := func(p *path, suffix, name string, grpc bool) {
		c, ok := byName[name]
		switch {
		case !ok && allowMissing:
		case !ok:
			errs = append(errs, fmt.Errorf("%s%s %w: %q", p, suffix, ErrMissingCluster, name))
		case grpc:
			h2, seen := http2[name]
			if !seen {
				h2 = speaksHTTP2(c)
				http2[name] = h2
			}
			if !h2 {
				errs = append(errs, fmt.Errorf("%s: cluster %q %w (typed_extension_protocol_options[%s].explicit_http_config.http2_protocol_options)",
					p, name, ErrNotHTTP2, HTTPProtocolOptionsKey))
			}
		}
	}
	collect := func(p *path, m protoreflect.Message) error {
		switch v := m.Interface().(type) {
		case *routev3.RouteAction:
			if c := v.GetCluster(); c != "" {
				check(p, "", c, false)
			}
			for i, w := range v.GetWeightedClusters().GetClusters() {
				check(p, ".weighted_clusters.clusters["+strconv.Itoa(i)+"]", w.GetName(), false)
			}
		case *corev3.GrpcService_EnvoyGrpc:
			check(p, "", v.GetClusterName(), true)
		}
		return nil
	}
	for _, m := range msgs {
		root := &path{segs: []segment{{field: string(m.ProtoReflect().Descriptor().Name()), index: -1}}}
		if err := walk(m.ProtoReflect(), root, refPruner, collect); err != nil {
			return err
		}
	}
	sort.SliceStable(errs, func(i, j int) bool { return errs[i].Error() < errs[j].Error() })
	return errors.Join(errs...)
}

// speaksHTTP2 reports whether c pins HTTP/2 the non-deprecated way.
func speaksHTTP2(c *clusterv3.Cluster) bool {
	a, ok := c.GetTypedExtensionProtocolOptions()[HTTPProtocolOptionsKey]
	if !ok {
		return false
	}
	opts := &httpv3.HttpProtocolOptions{}
	if err := a.UnmarshalTo(opts); err != nil {
		return false
	}
	return opts.GetExplicitHttpConfig().GetHttp2ProtocolOptions() != nil
}
