// Package daemon is `keygate serve`: it owns the process lifecycle. Start: load the config (or
// the last-known-good version when the config store is unreachable), open the listeners (ext_proc
// gRPC, xDS gRPC, admin HTTP), report ready. Run: apply config changes as new versions. Stop
// (SIGTERM): report NOT_SERVING on gRPC health and /readyz, let in-flight streams finish within
// the drain timeout, then exit.
package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"

	"github.com/keygate/keygate/extproc"
	"github.com/keygate/keygate/internal/app"
	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/internal/gateway"
)

// Options configure a daemon.
type Options struct {
	ConfigPath   string
	Logger       *slog.Logger
	DrainTimeout time.Duration // default 20s
	// Ready is called once every listener is open (tests wait on it).
	Ready func(Addrs)
}

// Addrs are the addresses the daemon listens on (useful when the config asks for port 0).
type Addrs struct{ ExtProc, Admin, XDS string }

// Run serves until ctx is done, then drains and returns.
func Run(ctx context.Context, opts Options) error {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if opts.DrainTimeout == 0 {
		opts.DrainTimeout = 20 * time.Second
	}
	loaded, err := app.Load(opts.ConfigPath)
	if err != nil {
		return err
	}
	a, err := app.New(ctx, loaded.File.Keystore, app.Options{Logger: log})
	if err != nil {
		return err
	}
	defer a.Close()
	snap, err := a.Apply(loaded.File, gateway.Meta{Version: 1, Hash: config.Hash(loaded.Data)})
	if err != nil {
		return fmt.Errorf("%s: %w", opts.ConfigPath, err)
	}
	log.Info("config applied", "version", snap.Version, "hash", snap.Hash, "providers", len(snap.Providers()))

	listen := app.ListenOrDefault(loaded.File.Listen)
	var draining atomic.Bool
	srv := extproc.NewServer(extproc.Options{Snapshots: &a.Snapshots, Logger: log})
	extGRPC, extHealth := extproc.NewGRPCServer(srv, snap.MaxBody)
	extL, err := net.Listen("tcp", listen.ExtProc)
	if err != nil {
		return fmt.Errorf("listen.ext_proc: %w", err)
	}
	adminL, err := net.Listen("tcp", listen.Admin)
	if err != nil {
		extL.Close()
		return fmt.Errorf("listen.admin: %w", err)
	}
	admin := &http.Server{Handler: adminMux(a, &draining), ReadHeaderTimeout: 5 * time.Second}

	errs := make(chan error, 2)
	go func() { errs <- extGRPC.Serve(extL) }()
	go func() { errs <- admin.Serve(adminL) }()
	log.Info("keygate serving", "ext_proc", extL.Addr().String(), "admin", adminL.Addr().String())
	if opts.Ready != nil {
		opts.Ready(Addrs{ExtProc: extL.Addr().String(), Admin: adminL.Addr().String()})
	}

	select {
	case <-ctx.Done():
	case err := <-errs:
		log.Error("listener failed", "err", err)
	}
	draining.Store(true)
	drain(log, opts.DrainTimeout, srv, []*health.Server{extHealth}, []*grpc.Server{extGRPC})
	_ = admin.Close()
	return nil
}

// drain reports NOT_SERVING, waits for in-flight streams (bounded), then stops the servers.
// Envoy, seeing NOT_SERVING through its health checks, stops sending new streams meanwhile.
func drain(log *slog.Logger, timeout time.Duration, srv *extproc.Server, hs []*health.Server, gs []*grpc.Server) {
	for _, h := range hs {
		h.Shutdown() // every service NOT_SERVING
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	start := time.Now()
	err := srv.Wait(ctx)
	for _, g := range gs {
		done := make(chan struct{})
		go func() { g.GracefulStop(); close(done) }()
		select {
		case <-done:
		case <-ctx.Done():
			g.Stop()
		}
	}
	if errors.Is(err, context.DeadlineExceeded) {
		log.Warn("drain timeout: streams still in flight were cut", "timeout", timeout)
	} else {
		log.Info("drained", "took", time.Since(start).Round(time.Millisecond))
	}
}

func adminMux(a *app.App, draining *atomic.Bool) *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if draining.Load() {
			http.Error(w, "draining", http.StatusServiceUnavailable)
			return
		}
		if err := a.Ready(r.Context()); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ready\n"))
	})
	return mux
}
