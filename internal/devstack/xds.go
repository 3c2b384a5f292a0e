package devstack

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"

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
	e, err := emu.NewFromADS(ctx, conn, emu.ADSConfig{NodeID: NodeID, NodeCluster: "dev",
		Base: emu.Config{AttributeHook: hook}}, emu.WithLogger(log))
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
// a restart.
func (s *Stack) Apply(ctx context.Context, data []byte) error {
	loaded, err := app.LoadBytes(data, s.Config.Dir, s.Config.Path)
	if err != nil {
		return err
	}
	snap, err := s.App.Compile(loaded.File, gateway.Meta{})
	if err != nil {
		return err
	}
	if _, err := s.XDS.Publish(ctx, loaded.File); err != nil {
		return fmt.Errorf("xds: %w", err)
	}
	s.App.Snapshots.Store(snap)
	s.Config = loaded
	return nil
}
