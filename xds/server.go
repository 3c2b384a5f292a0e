package xds

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"sync"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"github.com/envoyproxy/go-control-plane/pkg/cache/v3"
	serverv3 "github.com/envoyproxy/go-control-plane/pkg/server/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/keygate/keygate/internal/config"
)

// ADSServiceName is the gRPC service health reports on once a snapshot is published.
const ADSServiceName = "envoy.service.discovery.v3.AggregatedDiscoveryService"

// Server serves keygate's snapshot over ADS (state of the world and delta). Every node that
// opens a stream gets the current snapshot; Publish pushes a new one to every connected node.
// Safe for concurrent use.
type Server struct {
	log    *slog.Logger
	opts   Options
	cache  cache.SnapshotCache
	xds    serverv3.Server
	health *health.Server

	mu      sync.Mutex // orders Publish and node arrival, so no node ever gets an older version
	seq     uint64
	current *cache.Snapshot
	streams map[int64]string // open stream -> node id
	nodes   map[string]int   // node id -> open streams
}

// NewServer is NewServerWithOptions with default Options.
func NewServer(log *slog.Logger) *Server { return NewServerWithOptions(log, Options{}) }

// NewServerWithOptions builds a Server whose snapshots use opts (see Options for defaults).
func NewServerWithOptions(log *slog.Logger, opts Options) *Server {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{
		log:     log.With("component", "xds"),
		opts:    opts,
		health:  health.NewServer(),
		streams: map[int64]string{},
		nodes:   map[string]int{},
	}
	s.cache = cache.NewSnapshotCache(true, cache.IDHash{}, slogAdapter{log: log})
	s.xds = serverv3.NewServer(context.Background(), s.cache, serverv3.CallbackFuncs{
		StreamRequestFunc: func(id int64, r *discoveryv3.DiscoveryRequest) error {
			s.arrived(id, r.GetNode())
			return nil
		},
		StreamDeltaRequestFunc: func(id int64, r *discoveryv3.DeltaDiscoveryRequest) error {
			s.arrived(id, r.GetNode())
			return nil
		},
		StreamClosedFunc:      func(id int64, _ *corev3.Node) { s.closed(id) },
		DeltaStreamClosedFunc: func(id int64, _ *corev3.Node) { s.closed(id) },
	})
	// Not serving until the first snapshot exists: Envoy would otherwise wait on empty watches.
	s.health.SetServingStatus("", healthpb.HealthCheckResponse_NOT_SERVING)
	s.health.SetServingStatus(ADSServiceName, healthpb.HealthCheckResponse_NOT_SERVING)
	return s
}

// Register adds ADS (SotW and delta) and gRPC health to g.
func (s *Server) Register(g *grpc.Server) {
	discoveryv3.RegisterAggregatedDiscoveryServiceServer(g, s.xds)
	healthpb.RegisterHealthServer(g, s.health)
}

// Publish builds a snapshot of f and, only if it is valid and consistent, makes it current and
// pushes it to every connected node. On error nothing changes: Envoy keeps the last good
// config. Versions are decimal strings, strictly increasing per Server.
func (s *Server) Publish(ctx context.Context, f *config.File) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	version := strconv.FormatUint(s.seq+1, 10)
	snap, err := BuildSnapshot(version, f, s.opts)
	if err != nil {
		return "", err
	}
	s.seq++
	s.current = snap
	// The version is committed: push it to every node even if the caller goes away, or some
	// nodes would keep the old one (SetSnapshot fails only on a cancelled context).
	push := context.WithoutCancel(ctx)
	for _, node := range s.knownNodes() {
		if err := s.cache.SetSnapshot(push, node, snap); err != nil {
			return version, fmt.Errorf("xds: push version %s to node %q: %w", version, node, err)
		}
	}
	s.health.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	s.health.SetServingStatus(ADSServiceName, healthpb.HealthCheckResponse_SERVING)
	s.log.Info("xds snapshot published", "version", version, "providers", len(f.Providers), "nodes", len(s.nodes))
	return version, nil
}

// Version is the current snapshot version, "" before the first Publish.
func (s *Server) Version() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.current == nil {
		return ""
	}
	return strconv.FormatUint(s.seq, 10)
}

// Nodes are the ids of the nodes with an open stream, sorted.
func (s *Server) Nodes() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.nodes))
	for n := range s.nodes {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// arrived registers a stream's node on its first request and hands it the current snapshot
// before the cache sees the request, so the request is answered at once.
func (s *Server) arrived(stream int64, node *corev3.Node) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, known := s.streams[stream]; known {
		return
	}
	id := node.GetId()
	s.streams[stream] = id
	s.nodes[id]++
	if s.nodes[id] == 1 && s.current != nil {
		if err := s.cache.SetSnapshot(context.Background(), id, s.current); err != nil {
			s.log.Warn("xds: cannot hand snapshot to node", "node", id, "error", err)
		}
	}
	s.log.Debug("xds stream opened", "node", id, "stream", stream)
}

// closed forgets a stream; the last stream of a node drops the node's cache entry.
func (s *Server) closed(stream int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, ok := s.streams[stream]
	if !ok {
		return
	}
	delete(s.streams, stream)
	if s.nodes[id]--; s.nodes[id] <= 0 {
		delete(s.nodes, id)
		s.cache.ClearSnapshot(id)
	}
}

// knownNodes is every node with an open stream or a cache entry.
func (s *Server) knownNodes() []string {
	seen := map[string]bool{}
	for n := range s.nodes {
		seen[n] = true
	}
	for _, n := range s.cache.GetStatusKeys() {
		seen[n] = true
	}
	out := make([]string, 0, len(seen))
	for n := range seen {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}
