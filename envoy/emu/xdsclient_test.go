package emu

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	extprocv3cfg "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"
	routerv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/router/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	cachev3 "github.com/envoyproxy/go-control-plane/pkg/cache/v3"
	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	serverv3 "github.com/envoyproxy/go-control-plane/pkg/server/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"
)

func mustAny(t *testing.T, m proto.Message) *anypb.Any {
	t.Helper()
	a, err := anypb.New(m)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func staticCluster(name, addr string) *clusterv3.Cluster {
	host, port, _ := net.SplitHostPort(addr)
	p, _ := strconv.Atoi(port)
	return &clusterv3.Cluster{
		Name: name, ConnectTimeout: durationpb.New(time.Second),
		ClusterDiscoveryType: &clusterv3.Cluster_Type{Type: clusterv3.Cluster_STATIC},
		LoadAssignment: &endpointv3.ClusterLoadAssignment{ClusterName: name, Endpoints: []*endpointv3.LocalityLbEndpoints{{
			LbEndpoints: []*endpointv3.LbEndpoint{{HostIdentifier: &endpointv3.LbEndpoint_Endpoint{Endpoint: &endpointv3.Endpoint{
				Address: &corev3.Address{Address: &corev3.Address_SocketAddress{SocketAddress: &corev3.SocketAddress{
					Address: host, PortSpecifier: &corev3.SocketAddress_PortValue{PortValue: uint32(p)}}}}}}}}}}},
	}
}

func xdsListener(t *testing.T, ep *extprocv3cfg.ExternalProcessor) *listenerv3.Listener {
	hcm := &hcmv3.HttpConnectionManager{
		StatPrefix: "ingress",
		RouteSpecifier: &hcmv3.HttpConnectionManager_Rds{Rds: &hcmv3.Rds{RouteConfigName: "routes",
			ConfigSource: &corev3.ConfigSource{ResourceApiVersion: corev3.ApiVersion_V3, ConfigSourceSpecifier: &corev3.ConfigSource_Ads{Ads: &corev3.AggregatedConfigSource{}}}}},
		HttpFilters: []*hcmv3.HttpFilter{
			{Name: DefaultFilterName, ConfigType: &hcmv3.HttpFilter_TypedConfig{TypedConfig: mustAny(t, ep)}},
			{Name: "envoy.filters.http.router", ConfigType: &hcmv3.HttpFilter_TypedConfig{TypedConfig: mustAny(t, &routerv3.Router{})}},
		},
	}
	return &listenerv3.Listener{Name: "main", FilterChains: []*listenerv3.FilterChain{{Filters: []*listenerv3.Filter{{
		Name: "envoy.filters.network.http_connection_manager", ConfigType: &listenerv3.Filter_TypedConfig{TypedConfig: mustAny(t, hcm)}}}}}}
}

func extProcFilter() *extprocv3cfg.ExternalProcessor {
	return &extprocv3cfg.ExternalProcessor{
		GrpcService:    &corev3.GrpcService{TargetSpecifier: &corev3.GrpcService_EnvoyGrpc_{EnvoyGrpc: &corev3.GrpcService_EnvoyGrpc{ClusterName: "extproc"}}},
		ProcessingMode: bufferedMode(),
	}
}

func xdsRoutes(mainCluster string) *routev3.RouteConfiguration {
	route := func(prefix, cluster string, timeout time.Duration) *routev3.Route {
		return &routev3.Route{Match: &routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_Prefix{Prefix: prefix}},
			Action: &routev3.Route_Route{Route: &routev3.RouteAction{
				ClusterSpecifier: &routev3.RouteAction_Cluster{Cluster: cluster}, Timeout: durationpb.New(timeout)}}}
	}
	return &routev3.RouteConfiguration{Name: "routes", VirtualHosts: []*routev3.VirtualHost{{
		Name: "all", Domains: []string{"*"},
		Routes: []*routev3.Route{route("/slow", "slow", 100*time.Millisecond), route("/", mainCluster, 0)},
	}}}
}

// adsFixture runs a go-control-plane ADS server on loopback.
type adsFixture struct {
	cache cachev3.SnapshotCache
	conn  *grpc.ClientConn
	mu    sync.Mutex
	seen  map[string]string // type -> last ACKed version
	nacks []error
}

func startADS(t *testing.T) *adsFixture {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	f := &adsFixture{cache: cachev3.NewSnapshotCache(true, cachev3.IDHash{}, nil), seen: map[string]string{}}
	g := grpc.NewServer()
	discoveryv3.RegisterAggregatedDiscoveryServiceServer(g, serverv3.NewServer(ctx, f.cache, nil))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = g.Serve(l) }()
	t.Cleanup(g.Stop)
	if f.conn, err = grpc.NewClient(l.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials())); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.conn.Close() })
	return f
}

func (f *adsFixture) set(t *testing.T, version string, res map[resourcev3.Type][]types.Resource) {
	snap, err := cachev3.NewSnapshot(version, res)
	if err != nil {
		t.Fatal(err)
	}
	if err := snap.Consistent(); err != nil {
		t.Fatal(err)
	}
	if err := f.cache.SetSnapshot(context.Background(), "node1", snap); err != nil {
		t.Fatal(err)
	}
}

func (f *adsFixture) onUpdate(typeURL, version string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err != nil {
		f.nacks = append(f.nacks, err)
		return
	}
	f.seen[typeURL] = version
}

func TestXDS_SubscribeADSRoutesTimesOutAndReroutes(t *testing.T) {
	proc := startProcServer(t, continueAll)
	up, other := startUpstream(t, "up", nil), startUpstream(t, "other", nil)
	slow := startUpstream(t, "slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(2 * time.Second):
		case <-r.Context().Done():
		}
	})
	clusters := []types.Resource{staticCluster("up", up.addr()), staticCluster("other", other.addr()),
		staticCluster("slow", slow.addr()), staticCluster("extproc", proc.addr)}
	f := startADS(t)
	f.set(t, "1", map[resourcev3.Type][]types.Resource{
		resourcev3.ClusterType: clusters, resourcev3.ListenerType: {xdsListener(t, extProcFilter())},
		resourcev3.RouteType: {xdsRoutes("up")},
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	startCtx, startCancel := context.WithTimeout(ctx, 10*time.Second)
	defer startCancel()
	e, err := NewFromADS(ctx, f.conn, ADSConfig{NodeID: "node1", OnUpdate: f.onUpdate})
	if err != nil || startCtx.Err() != nil {
		t.Fatalf("NewFromADS: %v", err)
	}
	defer func() { _ = e.Close() }()
	front := httptest.NewServer(e)
	defer front.Close()
	h := &harness{t: t, proc: proc, emu: e, front: front}

	if r := h.do("POST", "/x", "b", nil); r.status != 200 || r.header.Get("X-Upstream") != "up" {
		t.Fatalf("v1: %d %v", r.status, r.header)
	}
	if len(proc.messages()) == 0 {
		t.Fatal("ext_proc from xDS not used")
	}
	if r := h.do("GET", "/slow", "", nil); r.status != 504 {
		t.Fatalf("route timeout from xDS: status %d", r.status)
	}

	f.set(t, "2", map[resourcev3.Type][]types.Resource{
		resourcev3.ClusterType: clusters, resourcev3.ListenerType: {xdsListener(t, extProcFilter())},
		resourcev3.RouteType: {xdsRoutes("other")},
	})
	waitFor(t, func() bool { f.mu.Lock(); defer f.mu.Unlock(); return f.seen[RouteTypeURL] == "2" })
	if r := h.do("GET", "/x", "", nil); r.header.Get("X-Upstream") != "other" {
		t.Fatalf("v2 did not re-route: %v", r.header)
	}

	bad := extProcFilter()
	bad.GrpcService = nil
	bad.HttpService = &extprocv3cfg.ExtProcHttpService{}
	f.set(t, "3", map[resourcev3.Type][]types.Resource{
		resourcev3.ClusterType: clusters, resourcev3.ListenerType: {xdsListener(t, bad)},
		resourcev3.RouteType: {xdsRoutes("other")},
	})
	waitFor(t, func() bool { f.mu.Lock(); defer f.mu.Unlock(); return len(f.nacks) > 0 })
	if r := h.do("GET", "/x", "", nil); r.header.Get("X-Upstream") != "other" {
		t.Fatalf("a NACKed update must not change routing: %v", r.header)
	}
}
