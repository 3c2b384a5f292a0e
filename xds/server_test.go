package xds

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/keygate/keygate/internal/config"
)

// startServer runs a Server on a loopback gRPC listener and returns it with a client conn.
func startServer(t *testing.T) (*Server, *grpc.ClientConn) {
	t.Helper()
	s := NewServer(slog.New(slog.DiscardHandler))
	g := grpc.NewServer()
	s.Register(g)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = g.Serve(lis) }()
	t.Cleanup(g.Stop)
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return s, conn
}

func files(n int) *config.File {
	f := &config.File{}
	for _, name := range []string{"one", "two", "three"}[:n] {
		f.Providers = append(f.Providers, provider(name, name+".egress.local", "https://"+name+".example"))
	}
	return f
}

// sotwClient is Envoy's side of a state-of-the-world ADS stream for one resource type.
type sotwClient struct {
	t      *testing.T
	stream discoveryv3.AggregatedDiscoveryService_StreamAggregatedResourcesClient
	node   string
	typ    string
}

func subscribe(ctx context.Context, t *testing.T, conn *grpc.ClientConn, node, typ string) *sotwClient {
	t.Helper()
	stream, err := discoveryv3.NewAggregatedDiscoveryServiceClient(conn).StreamAggregatedResources(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c := &sotwClient{t: t, stream: stream, node: node, typ: typ}
	c.send("", "")
	return c
}

func (c *sotwClient) send(version, nonce string) {
	c.t.Helper()
	err := c.stream.Send(&discoveryv3.DiscoveryRequest{
		Node: &corev3.Node{Id: c.node}, TypeUrl: c.typ, VersionInfo: version, ResponseNonce: nonce,
	})
	if err != nil {
		c.t.Fatal(err)
	}
}

// next receives one response, ACKs it, and returns its version and resource names.
func (c *sotwClient) next() (string, []string) {
	c.t.Helper()
	resp, err := c.stream.Recv()
	if err != nil {
		c.t.Fatalf("node %s: %v", c.node, err)
	}
	var names []string
	for _, a := range resp.GetResources() {
		if c.typ == resource.ClusterType {
			cl := &clusterv3.Cluster{}
			if err := a.UnmarshalTo(cl); err != nil {
				c.t.Fatal(err)
			}
			names = append(names, cl.GetName())
		} else {
			names = append(names, a.GetTypeUrl())
		}
	}
	c.send(resp.GetVersionInfo(), resp.GetNonce())
	return resp.GetVersionInfo(), names
}

// TestServerPushesToEveryNode: a node connecting before or after a Publish gets the current
// snapshot, a new Publish reaches every connected node, a bad config changes nothing.
func TestServerPushesToEveryNode(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s, conn := startServer(t)

	early := subscribe(ctx, t, conn, "early", resource.ClusterType) // waits for the first snapshot
	v1, err := s.Publish(ctx, files(1))
	if err != nil || v1 != "1" {
		t.Fatalf("Publish = %q, %v; want version 1", v1, err)
	}
	if v, names := early.next(); v != "1" || len(names) != 2 {
		t.Fatalf("early node got version %q clusters %v, want 1 with 2 clusters", v, names)
	}
	late := subscribe(ctx, t, conn, "late", resource.ClusterType)
	if v, _ := late.next(); v != "1" {
		t.Fatalf("late node got version %q, want 1", v)
	}
	listeners := subscribe(ctx, t, conn, "late", resource.ListenerType)
	if v, names := listeners.next(); v != "1" || len(names) != 1 {
		t.Fatalf("listener stream got %q %v, want version 1 with one listener", v, names)
	}

	v2, err := s.Publish(ctx, files(3))
	if err != nil || v2 != "2" {
		t.Fatalf("Publish = %q, %v; want version 2", v2, err)
	}
	for _, c := range []*sotwClient{early, late} {
		if v, names := c.next(); v != "2" || len(names) != 4 {
			t.Fatalf("node %s got version %q clusters %v, want 2 with 4 clusters", c.node, v, names)
		}
	}

	bad := files(1)
	bad.Providers[0].Upstream.URL = "ftp://nowhere"
	if _, err := s.Publish(ctx, bad); !errors.Is(err, ErrInvalid) {
		t.Fatalf("Publish(bad) = %v, want ErrInvalid", err)
	}
	if got := s.Version(); got != "2" {
		t.Fatalf("version after a rejected config = %q, want 2", got)
	}
	if got := s.Nodes(); len(got) != 2 || got[0] != "early" || got[1] != "late" {
		t.Fatalf("Nodes = %v, want [early late]", got)
	}
	if err := early.stream.CloseSend(); err != nil {
		t.Fatal(err)
	}
	if _, err := early.stream.Recv(); err != io.EOF {
		t.Fatalf("after CloseSend: %v, want EOF", err)
	}
}

func TestServerDelta(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s, conn := startServer(t)
	if _, err := s.Publish(ctx, files(2)); err != nil {
		t.Fatal(err)
	}
	stream, err := discoveryv3.NewAggregatedDiscoveryServiceClient(conn).DeltaAggregatedResources(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(&discoveryv3.DeltaDiscoveryRequest{
		Node: &corev3.Node{Id: "delta"}, TypeUrl: resource.ClusterType, ResourceNamesSubscribe: []string{"*"},
	}); err != nil {
		t.Fatal(err)
	}
	resp, err := stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	if n := len(resp.GetResources()); n != 3 {
		t.Fatalf("delta got %d clusters, want 3", n)
	}
}

func TestServerHealth(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, conn := startServer(t)
	hc := healthpb.NewHealthClient(conn)
	check := func() healthpb.HealthCheckResponse_ServingStatus {
		resp, err := hc.Check(ctx, &healthpb.HealthCheckRequest{Service: ADSServiceName})
		if err != nil {
			t.Fatal(err)
		}
		return resp.GetStatus()
	}
	if got := check(); got != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Fatalf("before the first snapshot: %v, want NOT_SERVING", got)
	}
	if _, err := s.Publish(ctx, files(1)); err != nil {
		t.Fatal(err)
	}
	if got := check(); got != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("after Publish: %v, want SERVING", got)
	}
}
