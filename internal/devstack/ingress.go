package devstack

import (
	"context"
	"fmt"
	"log/slog"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/keygate/keygate/envoy/emu"
	"github.com/keygate/keygate/xds"
)

// startIngress starts the callback listener (docs/callbacks.md) when a provider has callback:
// true: a second emulator that takes the ingress listener from keygate's xDS, as an Envoy with
// both listeners would, on its own loopback port.
func (s *Stack) startIngress(log *slog.Logger) error {
	has := false
	for _, p := range s.Config.File.Providers {
		has = has || p.Callback
	}
	if !has {
		return nil
	}
	conn, err := grpc.NewClient(s.XDSAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return fmt.Errorf("xds client: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.closers = append(s.closers, func() { cancel(); _ = conn.Close() })
	e, err := emu.NewFromADS(ctx, conn, emu.ADSConfig{NodeID: NodeID, NodeCluster: "dev",
		ListenerName: xds.IngressListenerName}, emu.WithLogger(log))
	if err != nil {
		return fmt.Errorf("ingress emulator over xDS: %w", err)
	}
	s.Ingress = e
	s.closers = append(s.closers, func() { _ = e.Close() })
	l, err := s.listen("", "127.0.0.1:10001")
	if err != nil {
		return fmt.Errorf("ingress: %w", err)
	}
	s.IngressURL = "http://" + l.Addr().String()
	go func() { _ = e.Serve(l) }()
	return nil
}
