package faults

import (
	"context"
	"crypto/tls"
	"log/slog"
	"net"
	"net/http/httptest"
	"testing"
	"time"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"

	"github.com/keygate/keygate/envoy/emu"
	"github.com/keygate/keygate/extproc"
	"github.com/keygate/keygate/internal/app"
	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/internal/gateway"
	"github.com/keygate/keygate/xds"
)

// keygate is one in-process keygate "process": an App and its ext_proc gRPC server on a port
// the fault controls, so it can be killed and started again on the same port.
type keygate struct {
	App    *app.App
	addr   string
	g      *grpc.Server
	health *health.Server
}

// loadConfig reads dir/keygate.yaml as `keygate serve` does.
func loadConfig(t *testing.T, dir string) *app.Loaded {
	t.Helper()
	l, err := app.Load(dir + "/keygate.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// newApp builds an App for loaded without applying it.
func newApp(t *testing.T, loaded *app.Loaded, log *slog.Logger) *app.App {
	t.Helper()
	a, err := app.New(context.Background(), loaded.File.Keystore, app.Options{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close() })
	return a
}

// startKeygate applies loaded (unless a already has a snapshot) and serves ext_proc on addr
// ("127.0.0.1:0" for a free port).
func startKeygate(t *testing.T, a *app.App, loaded *app.Loaded, addr string, log *slog.Logger) *keygate {
	t.Helper()
	if a.Snapshots.Load() == nil {
		if _, err := a.Apply(loaded.File, gateway.Meta{}); err != nil {
			t.Fatal(err)
		}
	}
	var l net.Listener
	var err error
	for range 50 { // the old listener's port may take a moment to be free again
		if l, err = net.Listen("tcp", addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	k := &keygate{App: a, addr: l.Addr().String()}
	srv := extproc.NewServer(extproc.Options{Snapshots: &a.Snapshots, Logger: log})
	k.g, k.health = extproc.NewGRPCServer(srv, a.Snapshots.Load().MaxBody)
	go func() { _ = k.g.Serve(l) }()
	t.Cleanup(k.g.Stop)
	return k
}

// kill stops the server at once, cutting streams in flight (a crash or SIGKILL).
func (k *keygate) kill() { k.g.Stop() }

// drain is keygate serve's SIGTERM: NOT_SERVING on gRPC health, still serving for delay (the
// --drain-delay, while Envoy's health check takes the host out), then the streams in flight end
// and the server stops.
func (k *keygate) drain(delay time.Duration) {
	k.health.Shutdown()
	time.Sleep(delay)
	k.g.GracefulStop()
}

// StartEgress starts the Envoy emulator in front of keygate at extProcAddr, configured the way
// Envoy is: over ADS from keygate's xDS server (failure_mode_allow false, message_timeout,
// buffer limit and route timeouts from the config). It returns the egress URL.
func StartEgress(t *testing.T, f *config.File, extProcAddr string, log *slog.Logger) string {
	t.Helper()
	return startEgressTo(t, f, []string{extProcAddr}, log)
}

// startEgressTo is StartEgress with the ext_proc cluster's hosts: several replicas of keygate,
// as DNS would give Envoy for a Service name (listen.ext_proc_advertise).
func startEgressTo(t *testing.T, f *config.File, extProcAddrs []string, log *slog.Logger) string {
	t.Helper()
	return startListener(t, f, extProcAddrs, "", log)
}

// startIngress is StartEgress for the callback listener (docs/callbacks.md): the emulator
// takes xDS's ingress listener, as the Envoy the internet reaches would.
func startIngress(t *testing.T, f *config.File, extProcAddr string, log *slog.Logger) string {
	t.Helper()
	return startListener(t, f, []string{extProcAddr}, xds.IngressListenerName, log)
}

// startListener runs an emulator over ADS for one listener ("" the first: the egress).
func startListener(t *testing.T, f *config.File, extProcAddrs []string, listener string, log *slog.Logger) string {
	t.Helper()
	extProcAddr := extProcAddrs[0]
	xl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	xs := xds.NewServerWithOptions(log, xds.Options{ExtProcAddress: extProcAddr})
	g := grpc.NewServer()
	xs.Register(g)
	go func() { _ = g.Serve(xl) }()
	t.Cleanup(g.Stop)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := xs.Publish(ctx, f); err != nil {
		t.Fatal(err)
	}
	conn, err := grpc.NewClient(xl.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	subCtx, stop := context.WithCancel(context.Background())
	ac := emu.ADSConfig{NodeID: "faults-egress", NodeCluster: "faults", ListenerName: listener}
	if len(extProcAddrs) > 1 {
		ac.Resolve = func(name string, _ *clusterv3.Cluster) ([]string, *tls.Config) {
			if name == xds.DefaultExtProcClusterName {
				return extProcAddrs, nil
			}
			return nil, nil
		}
	}
	e, err := emu.NewFromADS(subCtx, conn, ac, emu.WithLogger(log))
	if err != nil {
		stop()
		t.Fatal(err)
	}
	srv := httptest.NewServer(e)
	t.Cleanup(func() { srv.Close(); stop(); _ = e.Close(); _ = conn.Close() })
	return srv.URL
}
