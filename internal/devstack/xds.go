package devstack

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/keygate/keygate/envoy/emu"
	"github.com/keygate/keygate/internal/app"
	"github.com/keygate/keygate/internal/gateway"
	"github.com/keygate/keygate/xds"
)

// NodeID is the node name the dev egress uses with keygate's xDS server.
const NodeID = "keygate-dev-egress"

func (s *Stack) startXDS(addr, def string, log *slog.Logger) error {
	l, err := s.listen(addr, def)
	if err != nil {
		return fmt.Errorf("xds: %w", err)
	}
	s.XDSAddr = l.Addr().String()
	s.XDS = xds.NewServerWithOptions(log, xds.Options{ExtProcAddress: s.ExtProc})
	g := grpc.NewServer()
	s.XDS.Register(g)
	go func() { _ = g.Serve(l) }()
	s.closers = append(s.closers, g.Stop)
	return nil
}

// startEmulator starts the egress as Envoy starts: empty, then configured over ADS.
func (s *Stack) startEmulator(log *slog.Logger, hook func(*http.Request) map[string]any) error {
	conn, err := grpc.NewClient(s.XDSAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return fmt.Errorf("xds client: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.closers = append(s.closers, func() { cancel(); _ = conn.Close() })
	s.acked = newAcks()
	e, err := emu.NewFromADS(ctx, conn, emu.ADSConfig{NodeID: NodeID, NodeCluster: "dev",
		Base: emu.Config{AttributeHook: hook}, OnUpdate: s.acked.record}, emu.WithLogger(log))
	if err != nil {
		return fmt.Errorf("emulator over xDS: %w", err)
	}
	s.Emulator = e
	s.closers = append(s.closers, func() { _ = e.Close() })
	return nil
}

// Apply applies a new config the way keygate serve does on a config change: compile it, push
// the new Envoy resources over xDS, and only then swap the snapshot, so that a config either
// compiler refuses changes nothing (the error names the field). The egress re-routes without
// a restart; Apply returns once it has ACKed the new listener, routes and clusters (bounded),
// so that a request sent next meets the new config, as an operator waiting on Envoy's
// config_dump would see it.
func (s *Stack) Apply(ctx context.Context, data []byte) error {
	if s.App == nil {
		return fmt.Errorf("devstack: Apply runs keygate in process; with Options.Serve change the config through the admin API")
	}
	loaded, err := app.LoadBytes(data, s.Config.Dir, s.Config.Path)
	if err != nil {
		return err
	}
	snap, err := s.App.Compile(loaded.File, gateway.Meta{})
	if err != nil {
		return err
	}
	version, err := s.XDS.Publish(ctx, loaded.File)
	if err != nil {
		return fmt.Errorf("xds: %w", err)
	}
	if err := s.acked.wait(ctx, version, 10*time.Second); err != nil {
		return err
	}
	s.App.Publish(snap)
	s.Config = loaded
	return nil
}

// acks tracks the versions the egress ACKed per resource type (xDS versions are decimal and
// increase per server).
type acks struct {
	mu      sync.Mutex
	changed chan struct{} // closed and replaced on every ACK
	version map[string]uint64
}

func newAcks() *acks { return &acks{changed: make(chan struct{}), version: map[string]uint64{}} }

func (a *acks) record(typeURL, version string, err error) {
	n, perr := strconv.ParseUint(version, 10, 64)
	if err != nil || perr != nil {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.version[typeURL] = max(a.version[typeURL], n)
	close(a.changed)
	a.changed = make(chan struct{})
}

// wait returns once the listener, route and cluster types are ACKed at version or later.
func (a *acks) wait(ctx context.Context, version string, limit time.Duration) error {
	want, err := strconv.ParseUint(version, 10, 64)
	if err != nil {
		return fmt.Errorf("xds: version %q: %w", version, err)
	}
	deadline := time.After(limit)
	for {
		a.mu.Lock()
		done := true
		for _, t := range []string{emu.ListenerTypeURL, emu.RouteTypeURL, emu.ClusterTypeURL} {
			done = done && a.version[t] >= want
		}
		changed := a.changed
		a.mu.Unlock()
		if done {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		case <-deadline:
			return fmt.Errorf("xds: the egress did not ACK version %s within %s", version, limit)
		}
	}
}
