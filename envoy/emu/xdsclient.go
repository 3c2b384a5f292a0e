package emu

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	statuspb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
)

// xDS type URLs (state of the world, v3).
const (
	ListenerTypeURL = "type.googleapis.com/envoy.config.listener.v3.Listener"
	ClusterTypeURL  = "type.googleapis.com/envoy.config.cluster.v3.Cluster"
	RouteTypeURL    = "type.googleapis.com/envoy.config.route.v3.RouteConfiguration"
)

// ADSConfig configures SubscribeADS.
type ADSConfig struct {
	NodeID      string // node.id
	NodeCluster string // node.cluster
	// ListenerName selects the listener; "" takes the first by name.
	ListenerName string
	// Resolve, if set, maps clusters (including the ext_proc cluster) to endpoints and TLS.
	Resolve ClusterResolver
	// Base carries what xDS cannot (AttributeHook, ExtProcConn overriding the ext_proc cluster).
	Base Config
	// OnUpdate, if set, is called after each response is ACKed (err nil) or NACKed.
	OnUpdate func(typeURL, version string, err error)
}

// errIncomplete means the resources seen so far do not yet make a whole config (warming).
var errIncomplete = errors.New("xds: waiting for more resources")

// adsState is the last accepted resources of each type.
type adsState struct {
	listeners map[string]*listenerv3.Listener
	clusters  map[string]*clusterv3.Cluster
	routes    map[string]*routev3.RouteConfiguration
	secrets   map[string]*tlsv3.Secret
	versions  map[string]string
	nonces    map[string]string
	rdsNames  []string
	sdsNames  []string // the secrets the clusters name (Envoy: one SdsApi subscription each)
}

// SubscribeADS opens an ADS stream on conn, subscribes to Listener and Cluster (wildcard) and to
// the RouteConfiguration the HCM names, and applies every complete, convertible update with
// SetConfig. Updates are ACKed with their version_info and nonce, or NACKed with error_detail
// (the config stays as it was). It blocks until ctx ends or the stream fails.
func (e *Emulator) SubscribeADS(ctx context.Context, conn grpc.ClientConnInterface, ac ADSConfig) error {
	stream, err := discoveryv3.NewAggregatedDiscoveryServiceClient(conn).StreamAggregatedResources(ctx)
	if err != nil {
		return err
	}
	node := &corev3.Node{Id: ac.NodeID, Cluster: ac.NodeCluster}
	st := &adsState{versions: map[string]string{}, nonces: map[string]string{}}
	request := func(typeURL string, names []string, errDetail error) error {
		req := &discoveryv3.DiscoveryRequest{Node: node, TypeUrl: typeURL, ResourceNames: names,
			VersionInfo: st.versions[typeURL], ResponseNonce: st.nonces[typeURL]}
		if errDetail != nil {
			req.ErrorDetail = &statuspb.Status{Code: int32(codes.InvalidArgument), Message: errDetail.Error()}
		}
		return stream.Send(req)
	}
	for _, t := range []string{ClusterTypeURL, ListenerTypeURL} { // Envoy asks CDS first
		if err := request(t, nil, nil); err != nil {
			return err
		}
	}
	for {
		resp, err := stream.Recv()
		if err != nil {
			return err
		}
		next, err := st.stage(resp, ac.ListenerName)
		if err == nil {
			err = e.applyADS(next, ac)
		}
		st.nonces[resp.GetTypeUrl()] = resp.GetNonce()
		names := map[string][]string{RouteTypeURL: st.rdsNames, SecretTypeURL: st.sdsNames}[resp.GetTypeUrl()]
		if err != nil { // NACK: keep the previous version
			if sendErr := request(resp.GetTypeUrl(), names, err); sendErr != nil {
				return sendErr
			}
			notify(ac, resp, err)
			continue
		}
		prevNames, prevSDS := st.rdsNames, st.sdsNames
		*st = *next
		st.versions[resp.GetTypeUrl()] = resp.GetVersionInfo()
		switch resp.GetTypeUrl() {
		case RouteTypeURL:
			names = st.rdsNames
		case SecretTypeURL:
			names = st.sdsNames
		}
		if err := request(resp.GetTypeUrl(), names, nil); err != nil {
			return err
		}
		if !slices.Equal(prevNames, st.rdsNames) && len(st.rdsNames) > 0 {
			if err := request(RouteTypeURL, st.rdsNames, nil); err != nil {
				return err
			}
		}
		if !slices.Equal(prevSDS, st.sdsNames) && len(st.sdsNames) > 0 {
			if err := request(SecretTypeURL, st.sdsNames, nil); err != nil {
				return err
			}
		}
		notify(ac, resp, nil)
	}
}

func notify(ac ADSConfig, resp *discoveryv3.DiscoveryResponse, err error) {
	if ac.OnUpdate != nil {
		ac.OnUpdate(resp.GetTypeUrl(), resp.GetVersionInfo(), err)
	}
}

// applyADS converts the staged state and swaps it in; an incomplete state is not an error.
func (e *Emulator) applyADS(st *adsState, ac ADSConfig) error {
	cfg, err := st.build(ac)
	if errors.Is(err, errIncomplete) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := e.SetConfig(cfg); err != nil {
		return err
	}
	e.adsApplied.Store(true)
	return nil
}

// stage returns a copy of the state with resp's resources in place of that type's.
// listenerName picks the listener whose route configuration to subscribe to, as build will.
func (st *adsState) stage(resp *discoveryv3.DiscoveryResponse, listenerName string) (*adsState, error) {
	next := *st
	switch resp.GetTypeUrl() {
	case ListenerTypeURL:
		next.listeners = map[string]*listenerv3.Listener{}
		for _, a := range resp.GetResources() {
			l := &listenerv3.Listener{}
			if err := a.UnmarshalTo(l); err != nil {
				return nil, fmt.Errorf("listener: %w", err)
			}
			next.listeners[l.GetName()] = l
		}
	case ClusterTypeURL:
		next.clusters = map[string]*clusterv3.Cluster{}
		for _, a := range resp.GetResources() {
			c := &clusterv3.Cluster{}
			if err := a.UnmarshalTo(c); err != nil {
				return nil, fmt.Errorf("cluster: %w", err)
			}
			next.clusters[c.GetName()] = c
		}
	case RouteTypeURL:
		next.routes = map[string]*routev3.RouteConfiguration{}
		for _, a := range resp.GetResources() {
			r := &routev3.RouteConfiguration{}
			if err := a.UnmarshalTo(r); err != nil {
				return nil, fmt.Errorf("route configuration: %w", err)
			}
			next.routes[r.GetName()] = r
		}
	case SecretTypeURL:
		next.secrets = map[string]*tlsv3.Secret{}
		for _, a := range resp.GetResources() {
			sec := &tlsv3.Secret{}
			if err := a.UnmarshalTo(sec); err != nil {
				return nil, fmt.Errorf("secret: %w", err)
			}
			next.secrets[sec.GetName()] = sec
		}
	default:
		return nil, fmt.Errorf("unexpected type %q", resp.GetTypeUrl())
	}
	next.sdsNames = sdsNames(next.clusters)
	// Envoy subscribes to the route configuration of every listener it holds, not only the
	// one this emulator serves: go-control-plane's snapshot cache answers an RDS request only
	// when it names every route configuration of the snapshot (the egress's and the callback
	// ingress's), as a real Envoy with both listeners does.
	next.rdsNames = nil
	for _, l := range next.listeners {
		if p, err := convertListener(l); err == nil && p.routeName != "" && !slices.Contains(next.rdsNames, p.routeName) {
			next.rdsNames = append(next.rdsNames, p.routeName)
		}
	}
	sort.Strings(next.rdsNames)
	return &next, nil
}

func (st *adsState) listener(name string) *listenerv3.Listener {
	if name != "" {
		return st.listeners[name]
	}
	names := make([]string, 0, len(st.listeners))
	for n := range st.listeners {
		names = append(names, n)
	}
	sort.Strings(names)
	if len(names) == 0 {
		return nil
	}
	return st.listeners[names[0]]
}

// build converts the state to a Config, or errIncomplete while warming.
func (st *adsState) build(ac ADSConfig) (Config, error) {
	l := st.listener(ac.ListenerName)
	if l == nil || st.clusters == nil {
		return Config{}, errIncomplete
	}
	p, err := convertListener(l)
	if err != nil {
		return Config{}, err
	}
	cfg := p.cfg
	cfg.AttributeHook = ac.Base.AttributeHook
	rc := p.inline
	if rc == nil {
		if rc = st.routes[p.routeName]; rc == nil {
			return Config{}, errIncomplete
		}
	}
	if err := convertRoutes(&cfg, rc); err != nil {
		return Config{}, err
	}
	cfg.Clusters = map[string]Cluster{}
	for name, c := range st.clusters {
		if cfg.Clusters[name], err = convertCluster(c, ac.Resolve, st.secrets); err != nil {
			return Config{}, err
		}
	}
	if err := resolveUpstreamFilters(cfg.Clusters, ac.Base.ExtProcConn); err != nil {
		return Config{}, err
	}
	switch {
	case cfg.Disabled:
	case ac.Base.ExtProcConn != nil:
		cfg.ExtProcConn, cfg.ExtProcAddress = ac.Base.ExtProcConn, ""
	case p.procTarget != "":
		pc, ok := cfg.Clusters[p.procTarget]
		if !ok || len(pc.Endpoints) == 0 {
			return Config{}, errIncomplete
		}
		cfg.ExtProcAddress, cfg.ExtProcTLS, cfg.extProcTLSKey = pc.Endpoints[0], pc.TLS, pc.tlsKey
		cfg.ExtProcEndpoints, cfg.ExtProcHealthChecked = pc.Endpoints, pc.HealthChecked
	}
	return cfg, nil
}

// NewFromADS builds an emulator whose whole configuration comes from ADS: it subscribes in the
// background and returns once the first complete configuration is applied (or ctx ends). The
// subscription runs until ctx ends: cancel ctx (then Close) to stop it.
func NewFromADS(ctx context.Context, conn grpc.ClientConnInterface, ac ADSConfig, opts ...Option) (*Emulator, error) {
	e, err := New(Config{Disabled: true}, opts...)
	if err != nil {
		return nil, err
	}
	ready := make(chan struct{})
	once := false
	user := ac.OnUpdate
	ac.OnUpdate = func(typeURL, version string, err error) {
		if user != nil {
			user(typeURL, version, err)
		}
		if !once && e.adsApplied.Load() {
			once = true
			close(ready)
		}
	}
	done := make(chan error, 1)
	go func() { done <- e.SubscribeADS(ctx, conn, ac) }()
	select {
	case <-ready:
		return e, nil
	case err := <-done:
		_ = e.Close()
		return nil, fmt.Errorf("emu: ADS ended before a complete config: %w", err)
	case <-ctx.Done():
		_ = e.Close()
		return nil, ctx.Err()
	}
}
