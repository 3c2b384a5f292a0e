// Package devstack starts keygate's whole request path on loopback: the demo provider, keygate
// (ext_proc server and xDS server), and the Envoy emulator as the egress, configured the way
// Envoy is: it subscribes to keygate's xDS server over ADS and takes its listener, ext_proc
// filter, routes, timeouts and clusters from there. `keygate dev` runs it for
// people; the end-to-end tests run the very same stack, so what they prove is what dev shows.
package devstack

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"

	"github.com/keygate/keygate/envoy/emu"
	"github.com/keygate/keygate/examples"
	"github.com/keygate/keygate/examples/demoprovider"
	"github.com/keygate/keygate/extproc"
	"github.com/keygate/keygate/internal/app"
	"github.com/keygate/keygate/internal/gateway"
	"github.com/keygate/keygate/internal/secret"
	"github.com/keygate/keygate/keystore"
	"github.com/keygate/keygate/xds"
)

// DemoProviderAddr is where the embedded dev config expects the demo provider.
const DemoProviderAddr = "127.0.0.1:18090"

// DemoCredentials are the demo merchant's keys, the same as examples/dev/keys.yaml.
var DemoCredentials = demoprovider.Credentials{
	AppKey: "demo-app", AppSecret: "demo-app-secret-0123456789",
	AESKey: []byte("demo-aes-key-16b"), AESIV: []byte("demo-aes-iv-16by"),
}

// Options configure a stack. An empty address is a free loopback port, so that a test can never
// collide with a running `keygate dev` or another test run; DocumentedPorts (keygate dev) makes
// empty addresses the documented dev ports and the config's listen section instead.
type Options struct {
	DocumentedPorts bool
	EgressAddr      string // documented: 127.0.0.1:10000
	ExtProcAddr     string // documented: the config's listen.ext_proc
	ProviderAddr    string // documented: DemoProviderAddr
	ConfigDir       string // a folder holding keygate.yaml; default the embedded examples/dev
	Logger          *slog.Logger
	Keystore        keystore.Store // instead of the config's (tests with Vault)
	Provider        demoprovider.Options
	XDSAddr         string // documented: the config's listen.xds
	// Serve runs keygate's side as `keygate serve` (daemon.Run, with the admin API, metrics and
	// audit log) instead of in process; App and XDS are then nil, Apply is not available.
	Serve     bool
	AdminAddr string // with Serve; documented: the config's listen.admin
	// AttributeHook stands in for Envoy's CEL attributes (e.g. the caller's mTLS SPIFFE ID in
	// connection.uri_san_peer_certificate) in tests.
	AttributeHook func(*http.Request) map[string]any
}

// Stack is a running dev stack.
type Stack struct {
	App       *app.App
	Config    *app.Loaded
	Provider  *demoprovider.Provider
	Emulator  *emu.Emulator
	EgressURL string // http://host:port of the egress
	// Ingress and IngressURL are the callback listener, when a provider has callback: true.
	Ingress    *emu.Emulator
	IngressURL string
	ExtProc    string // host:port of keygate's ext_proc server
	Upstream   string // host:port of the demo provider
	XDS        *xds.Server
	XDSAddr    string // host:port of keygate's xDS server
	// AdminAddr and AdminToken: with Options.Serve, the admin API and the gateway admin token
	// made for this run (zero when the config brings its own tokens).
	AdminAddr  string
	AdminToken secret.Value
	closers    []func()

	documentedPorts bool
	acked           *acks // what the egress ACKed over xDS
}

// Start starts the stack. Close stops it; on error everything started is stopped.
func Start(ctx context.Context, opts Options) (*Stack, error) {
	s := &Stack{documentedPorts: opts.DocumentedPorts}
	if err := s.start(ctx, opts); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func (s *Stack) start(ctx context.Context, opts Options) (err error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	providerL, err := s.listen(opts.ProviderAddr, DemoProviderAddr)
	if err != nil {
		return fmt.Errorf("demo provider: %w", err)
	}
	s.Upstream = providerL.Addr().String()
	s.Provider = demoprovider.New(DemoCredentials, opts.Provider)
	s.serveHTTP(providerL, s.Provider)

	if s.Config, err = s.loadConfig(opts.ConfigDir, providerL.Addr().String()); err != nil {
		return err
	}
	if opts.Serve {
		if err := s.startServe(ctx, opts, log); err != nil {
			return err
		}
		return s.startEgress(opts, log)
	}
	if s.App, err = app.New(ctx, s.Config.File.Keystore, app.Options{Logger: log, Keystore: opts.Keystore}); err != nil {
		return err
	}
	s.closers = append(s.closers, func() { _ = s.App.Close() })
	snap, err := s.App.Apply(s.Config.File, gateway.Meta{})
	if err != nil {
		return fmt.Errorf("%s: %w", s.Config.Path, err)
	}

	listenCfg := app.ListenOrDefault(s.Config.File.Listen)
	extL, err := s.listen(opts.ExtProcAddr, listenCfg.ExtProc)
	if err != nil {
		return fmt.Errorf("ext_proc: %w", err)
	}
	s.ExtProc = extL.Addr().String()
	srv := extproc.NewServer(extproc.Options{Snapshots: &s.App.Snapshots, Logger: log})
	g, _ := extproc.NewGRPCServer(srv, snap.MaxBody)
	go func() { _ = g.Serve(extL) }()
	s.closers = append(s.closers, g.Stop)

	if err := s.startXDS(opts.XDSAddr, listenCfg.XDS, log); err != nil {
		return err
	}
	if _, err := s.XDS.Publish(ctx, s.Config.File); err != nil {
		return fmt.Errorf("xds: %w", err)
	}
	return s.startEgress(opts, log)
}

// startEgress starts the emulator, configured by the xDS server at s.XDSAddr, and its listener.
func (s *Stack) startEgress(opts Options, log *slog.Logger) error {
	if err := s.startEmulator(log, opts.AttributeHook); err != nil {
		return err
	}
	egressL, err := s.listen(opts.EgressAddr, "127.0.0.1:10000")
	if err != nil {
		return fmt.Errorf("egress: %w", err)
	}
	s.EgressURL = "http://" + egressL.Addr().String()
	// Envoy's HCM with codec_type AUTO speaks HTTP/1.1 and prior-knowledge h2c: so does the
	// emulator's Serve (HTTP/2 framing such as trailers without DATA reaches ext_proc).
	go func() { _ = s.Emulator.Serve(egressL) }()
	return s.startIngress(log)
}

// Close stops everything, last started first.
func (s *Stack) Close() {
	for i := len(s.closers) - 1; i >= 0; i-- {
		s.closers[i]()
	}
	s.closers = nil
}

func (s *Stack) serveHTTP(l net.Listener, h http.Handler) {
	hs := &http.Server{Handler: h, ReadHeaderTimeout: 0}
	go func() { _ = hs.Serve(l) }()
	s.closers = append(s.closers, func() { _ = hs.Close() })
}

// listen binds addr; an empty one is documented (keygate dev) or a free loopback port.
func (s *Stack) listen(addr, documented string) (net.Listener, error) {
	return net.Listen("tcp", s.address(addr, documented))
}

// address is where a listener goes: addr when given, else the documented address (keygate
// dev) or a free loopback port.
func (s *Stack) address(addr, documented string) string {
	switch {
	case addr != "":
		return addr
	case s.documentedPorts:
		return documented
	}
	return "127.0.0.1:0"
}

// loadConfig loads keygate.yaml from dir, or the embedded dev config written to a private
// temporary folder (the file keystore and scripts are files). The demo provider's documented
// address is replaced by the one it really listens on.
func (s *Stack) loadConfig(dir, providerAddr string) (*app.Loaded, error) {
	if dir == "" {
		tmp, err := os.MkdirTemp("", "keygate-dev-")
		if err != nil {
			return nil, err
		}
		s.closers = append(s.closers, func() { _ = os.RemoveAll(tmp) })
		if err := os.CopyFS(tmp, examples.Dev); err != nil {
			return nil, fmt.Errorf("writing the embedded dev config: %w", err)
		}
		dir = filepath.Join(tmp, "dev")
	}
	path := filepath.Join(dir, "keygate.yaml")
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	data = bytes.ReplaceAll(data, []byte(DemoProviderAddr), []byte(providerAddr))
	return app.LoadBytes(data, dir, path)
}
