// Package daemon is `keygate serve`: it owns the process lifecycle.
//
// Start: read the config (the newest stored version, or the last-known-good one when the config
// store is unreachable, then the file if it changed), open the keystore, and serve three
// listeners: ext_proc gRPC for Envoy, xDS (ADS) for Envoy, and the admin API with /metrics,
// /healthz and /readyz. Run: every config change (file edit, admin API, `keygate config`) is
// validated, compiled, pushed over xDS and only then stored as a new version. Stop (SIGTERM):
// report NOT_SERVING on gRPC health and /readyz, let in-flight streams finish within the drain
// timeout, then exit.
package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"

	"github.com/keygate/keygate/extproc"
	"github.com/keygate/keygate/internal/app"
	"github.com/keygate/keygate/internal/metrics"
	"github.com/keygate/keygate/internal/versions"
	"github.com/keygate/keygate/keystore/fromconfig"
	"github.com/keygate/keygate/xds"
)

// Options configure a daemon.
type Options struct {
	ConfigPath   string
	Logger       *slog.Logger
	DrainTimeout time.Duration // default 20s
	// DrainDelay is how long keygate keeps accepting new streams after SIGTERM while reporting
	// NOT_SERVING and /readyz 503: Envoy learns of the drain only through its health checks, and
	// a stream refused before it did is a 500 for a caller. Zero: stop accepting at once.
	DrainDelay time.Duration
	// WatchInterval is how often the config file is checked for edits; default 2s, <0 off.
	WatchInterval time.Duration
	// Ready is called once every listener is open (tests wait on it).
	Ready func(Addrs)
	// LogRequests logs one line per request phase (keygate dev).
	LogRequests bool
	// ConfigFileWins applies edits of the config file even when they drop changes the admin
	// API or the CLI stored since the file was last applied (see fileChange).
	ConfigFileWins bool
	// SetMemoryLimit makes Go's memory limit follow the bodies the ext_proc streams reserved
	// (FollowMemoryLimit): keygate serve owns its process; tests and keygate dev running the
	// daemon in theirs do not.
	SetMemoryLimit bool
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
	boot, err := bootConfig(opts.ConfigPath, log)
	if err != nil {
		return err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m := metrics.NewWithOptions(reg, metrics.Options{HideNames: !boot.File.Admin.Metrics.TenantLabels})
	store, err := fromconfig.OpenObserved(ctx, boot.File.Keystore, log, m.CacheObserver())
	if err != nil {
		return fmt.Errorf("keystore: %w", err)
	}
	defer store.Close()
	shared, err := openShared(store, boot.File)
	if err != nil {
		return err
	}
	a, err := app.New(ctx, boot.File.Keystore, app.Options{Logger: log, Keystore: store, ScriptMaxMemory: scriptMaxMemory(boot.File.Limits),
		TokenStore: shared.tokens, TokenObserver: m.TokenObserver()})
	if err != nil {
		return err
	}

	listen := app.ListenOrDefault(boot.File.Listen)
	tr, err := listenTransport(listen, log)
	if err != nil {
		return err
	}
	ls, err := listenAll(listen.ExtProc, listen.XDS, listen.Admin)
	if err != nil {
		return err
	}
	defer func() {
		for _, l := range ls {
			_ = l.Close()
		}
	}()
	// Envoy dials ext_proc where it is really bound (the config may say port 0).
	extProcAt := listen.ExtProcAdvertise
	if extProcAt == "" {
		extProcAt = dialable(ls[0].Addr())
	}
	xdsSrv := xds.NewServerWithOptions(log, xds.Options{ExtProcAddress: extProcAt, ExtProcTLS: listen.TLS})
	pub := &publisher{app: a, xds: xdsSrv, dir: boot.Dir}
	auditSink, auditLog, closeAudit, err := openAudit(boot.File)
	if err != nil {
		return err
	}
	defer closeAudit()
	// Every version that becomes current is compared with the start-only settings Run read
	// from boot.File above (startonly.go).
	restart := &restartReport{boot: StartSettingsOf(boot.File), dir: boot.Dir, log: log, audit: auditSink, gauge: m.SetRestartRequired}
	writeStarted(boot.File.StateDir(), Started{PID: os.Getpid(), Time: time.Now().UTC(), Dir: boot.Dir, Settings: restart.boot}, log)
	var logins *adminLogins // set with the admin handler, before any change can apply
	cfgs := configs{
		Manager: versions.NewManager(versions.Options{Store: shared.versions, Compile: pub.compile,
			Secrets: secretVersions{a.Keystore}, LastKnownGood: shared.lkg, Logger: log}),
		onApplied: func(v versions.Version) {
			m.SetConfigVersion(v.Number)
			log.Info("config version applied", "version", v.Number, "hash", v.Hash, "author", v.Author)
			restart.applied(ctx, v)
			if logins != nil {
				logins.versionApplied(v) // a token removed from admin.tokens stops logging in now
			}
		},
		onFailed: m.ConfigApplyFailed,
	}
	mark := fileMark{path: filepath.Join(boot.File.StateDir(), "config-file.sha256")}
	seen, err := startConfig(ctx, cfgs, opts.ConfigPath, mark, opts.ConfigFileWins, log)
	if err != nil {
		return err
	}
	if v, ok := cfgs.Current(); ok {
		m.SetConfigVersion(v.Number)
		restart.applied(ctx, v) // a restored version may differ from the file keygate started from
	}
	var draining atomic.Bool
	srv := extproc.NewServer(extproc.Options{Snapshots: &a.Snapshots, Logger: log, MaxStreams: maxStreams(boot.File.Limits),
		MemoryBudget: memoryBudget(boot.File.Limits),
		Observer: observers{metrics: m, audit: auditSink, log: log, logRequests: opts.LogRequests, version: func() int {
			v, _ := cfgs.Current()
			return v.Number
		}}})
	if opts.SetMemoryLimit {
		following := FollowMemoryLimit(ctx, srv.InFlightBytes)
		log.Info("go memory limit", "follows_reserved_bodies", following, "gomemlimit_env", os.Getenv("GOMEMLIMIT"))
	}
	pub.maxBody = a.Snapshots.Load().MaxBody
	extGRPC, extHealth := extproc.NewGRPCServer(srv, pub.maxBody, append(extProcLimits(boot.File.Limits), tr.extProc...)...)
	xdsGRPC := grpc.NewServer(tr.xds...)
	xdsSrv.Register(xdsGRPC)
	adminHandler, watchTokens, l, err := newAdmin(a, boot.File, cfgs, auditSink, auditLog, m, &draining, restart.forVersion, log)
	if err != nil {
		return err
	}
	l.dir, logins = boot.Dir, l
	if v, ok := cfgs.Current(); ok {
		l.versionApplied(v) // the version restored from the store, which may be newer than the file
	}
	admin := adminServer(adminHandler, log)

	errs := make(chan error, 4)
	go func() { errs <- extGRPC.Serve(ls[0]) }()
	go func() { errs <- xdsGRPC.Serve(ls[1]) }()
	adminL, connState := tr.adminListener(ls[2], boot.File.Limits)
	admin.ConnState = connState
	go func() { errs <- admin.Serve(adminL) }()
	stopHealth, err := serveHealth(listen.Health, adminHandler, log, errs)
	if err != nil {
		return fmt.Errorf("listen.health: %w", err)
	}
	defer stopHealth()
	addrs := Addrs{ExtProc: ls[0].Addr().String(), XDS: ls[1].Addr().String(), Admin: ls[2].Addr().String()}
	log.Info("keygate serving", "ext_proc", addrs.ExtProc, "xds", addrs.XDS, "admin", addrs.Admin)
	// The watchers are owned here: stopped and waited for before the store, the keystore and
	// the audit log they use are closed (the defers above), whichever way Run ends.
	watchCtx, stopWatchers := context.WithCancel(ctx)
	var watchers sync.WaitGroup
	defer watchers.Wait()
	defer stopWatchers()
	watchers.Go(func() {
		watchFile(watchCtx, fileWatch{path: opts.ConfigPath, every: opts.WatchInterval, last: seen, configs: cfgs,
			mark: mark, fileWins: opts.ConfigFileWins, audit: auditSink, log: log})
	})
	watchers.Go(func() { followStore(watchCtx, shared.versions, opts.WatchInterval, cfgs, log) })
	if watchTokens != nil {
		watchers.Go(func() { watchTokens(watchCtx, opts.WatchInterval) })
	}
	if opts.Ready != nil {
		opts.Ready(addrs)
	}

	select {
	case <-ctx.Done():
	case err := <-errs:
		log.Error("listener failed", "err", err)
	}
	stopWatchers()
	watchers.Wait() // no config change starts once the drain has
	draining.Store(true)
	drain(log, opts.DrainDelay, opts.DrainTimeout, srv, []*health.Server{extHealth}, []*grpc.Server{extGRPC})
	xdsGRPC.Stop() // ADS streams live as long as Envoy: they are cut, Envoy reconnects to a new keygate
	_ = admin.Close()
	return nil
}

// dialable is a bound address as a local Envoy dials it: an unspecified host becomes loopback.
func dialable(a net.Addr) string {
	tcp, ok := a.(*net.TCPAddr)
	if !ok || !tcp.IP.IsUnspecified() {
		return a.String()
	}
	return net.JoinHostPort("127.0.0.1", fmt.Sprint(tcp.Port))
}

func listenAll(addrs ...string) ([]net.Listener, error) {
	var ls []net.Listener
	for i, addr := range addrs {
		l, err := net.Listen("tcp", addr)
		if err != nil {
			for _, prev := range ls {
				prev.Close()
			}
			return nil, fmt.Errorf("listen.%s: %w", []string{"ext_proc", "xds", "admin"}[i], err)
		}
		ls = append(ls, l)
	}
	return ls, nil
}

// drain reports NOT_SERVING and keeps serving for delay (Envoy's health checks notice and send
// new streams elsewhere), then stops accepting and waits for in-flight streams (bounded by
// timeout), then stops the servers.
func drain(log *slog.Logger, delay, timeout time.Duration, srv *extproc.Server, hs []*health.Server, gs []*grpc.Server) {
	for _, h := range hs {
		h.Shutdown() // every service NOT_SERVING
	}
	log.Info("draining: NOT_SERVING", "delay", delay, "timeout", timeout)
	time.Sleep(delay)
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
	if err != nil {
		log.Warn("drain timeout: streams still in flight were cut", "timeout", timeout)
		return
	}
	log.Info("drained", "took", time.Since(start).Round(time.Millisecond))
}
