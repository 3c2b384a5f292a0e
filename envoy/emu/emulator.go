package emu

import (
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
)

// Emulator is one emulated Envoy listener: HCM + ext_proc filter + router. It is an
// http.Handler; requests keep the configuration they started with while SetConfig swaps it.
type Emulator struct {
	snap atomic.Pointer[snapshot]
	// adsApplied is set once SubscribeADS applied a complete configuration.
	adsApplied atomic.Bool
	st         counters
	opts       Options

	mu      sync.Mutex
	conns   map[string]*grpc.ClientConn // ext_proc channels dialled by address
	servers []*http.Server
	closed  bool
}

// Options are the emulator's own knobs (not Envoy config).
type Options struct {
	Logger *slog.Logger // default: discard
	// OnLocalReply, if set, is called for every local reply with its status and Envoy-style
	// response code details (e.g. "ext_proc_error_message_timeout"), for test assertions.
	OnLocalReply func(status int, details string)
}

// Option changes Options.
type Option func(*Options)

// WithLogger sets the logger.
func WithLogger(l *slog.Logger) Option { return func(o *Options) { o.Logger = l } }

// WithLocalReplyHook sets Options.OnLocalReply.
func WithLocalReplyHook(f func(status int, details string)) Option {
	return func(o *Options) { o.OnLocalReply = f }
}

var _ http.Handler = (*Emulator)(nil)

// New validates cfg as Envoy would at load time and returns a ready emulator.
func New(cfg Config, opts ...Option) (*Emulator, error) {
	e := &Emulator{conns: map[string]*grpc.ClientConn{}}
	for _, o := range opts {
		o(&e.opts)
	}
	if e.opts.Logger == nil {
		e.opts.Logger = slog.New(slog.DiscardHandler)
	}
	if err := e.SetConfig(cfg); err != nil {
		e.closeConns()
		return nil, err
	}
	return e, nil
}

// SetConfig validates cfg and swaps it in atomically; in-flight requests finish on the old one.
// On error the running configuration is unchanged.
func (e *Emulator) SetConfig(cfg Config) error {
	s, err := compile(cfg, e.extProcClient)
	if err != nil {
		return err
	}
	if old := e.snap.Swap(s); old != nil {
		old.release()
	}
	return nil
}

// Stats returns the current counters.
func (e *Emulator) Stats() Stats { return e.st.snapshot() }

// extProcClient returns the processor client for a Config (dialling an address once).
func (e *Emulator) extProcClient(cfg Config) (extprocv3.ExternalProcessorClient, error) {
	if cfg.ExtProcConn != nil {
		return extprocv3.NewExternalProcessorClient(cfg.ExtProcConn), nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil, errors.New("emu: emulator closed")
	}
	key := strings.Join(extProcHosts(cfg), ",") + "\x00" + cfg.extProcTLSKey
	cc, ok := e.conns[key]
	if !ok {
		creds := insecure.NewCredentials()
		if cfg.ExtProcTLS != nil {
			creds = credentials.NewTLS(cfg.ExtProcTLS)
		}
		var err error
		if cc, err = dialExtProc(cfg, creds); err != nil {
			return nil, err
		}
		e.conns[key] = cc
	}
	return extprocv3.NewExternalProcessorClient(cc), nil
}

// ServeHTTP runs one request through the filter chain and the router.
func (e *Emulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s := e.snap.Load()
	x := &exchange{snap: s, st: &e.st, r: r, w: w}
	defer x.finish()
	m := &message{
		headers: downstreamRequestHeaders(r, s.cfg.StripAnyHostPort),
		hasBody: r.ContentLength != 0 || len(r.TransferEncoding) > 0,
	}
	if lr := normalizePath(&m.headers, s.cfg); lr != nil { // the HCM, before routing and filters
		e.reply(x, lr)
		return
	}
	route := s.routes.match(&m.headers)
	x.setup(route)
	if lr := x.requestPath(m); lr != nil {
		e.reply(x, lr)
		return
	}
	if x.routeCleared {
		route = s.routes.match(&m.headers)
	}
	if x.active() && !x.responseDue() {
		if lr := x.idleCheck(); lr != nil {
			e.reply(x, lr)
			return
		}
		x.finish()
	}
	u, lr, err := e.route(r, s, route, m)
	if err != nil { // reset after upstream headers: Envoy resets the downstream stream
		x.finish()
		panic(http.ErrAbortHandler)
	}
	if lr != nil {
		e.reply(x, lr)
		return
	}
	if lr := x.idleCheck(); lr != nil {
		e.reply(x, lr)
		return
	}
	final, lr := x.responsePath(u)
	if lr != nil {
		e.reply(x, lr)
		return
	}
	writeDownstream(w, final.headers, final.body, final.trailers)
}

// route is the router filter: route entry, cluster, upstream request.
func (e *Emulator) route(r *http.Request, s *snapshot, route *Route, m *message) (*upstreamResponse, *localReply, error) {
	ctx := r.Context()
	if route == nil {
		return nil, routerReply(http.StatusNotFound, "", "route_not_found"), nil
	}
	if d := route.DirectResponse; d != nil {
		return nil, routerReply(d.Status, d.Body, "direct_response"), nil
	}
	cl, ok := s.clusters[route.Cluster]
	if !ok {
		return nil, routerReply(http.StatusServiceUnavailable, "", "cluster_not_found"), nil
	}
	e.st.UpstreamRequests.Add(1)
	return e.forwardWithRetries(ctx, r, route, cl, m, s.cfg.SuppressEnvoyHeaders)
}

// reply sends a local reply; router and buffer-limit replies pass through the encoder side of
// ext_proc first (unless processing completed).
func (e *Emulator) reply(x *exchange, lr *localReply) {
	e.st.LocalReplies.Add(1)
	if e.opts.OnLocalReply != nil {
		e.opts.OnLocalReply(lr.status, lr.details)
	}
	e.opts.Logger.Debug("local reply", "status", lr.status, "details", lr.details)
	if lr.throughFilters && x.active() {
		u := &upstreamResponse{headers: lr.responseHeaders(), body: lr.body, eos: len(lr.body) == 0}
		final, next := x.responsePath(u)
		if next != nil {
			e.reply(x, next)
			return
		}
		writeDownstream(x.w, final.headers, final.body, final.trailers)
		return
	}
	x.finish()
	writeDownstream(x.w, lr.responseHeaders(), lr.body, headerMap{})
}

// Serve accepts HTTP/1.1 and h2c connections on l until Close.
func (e *Emulator) Serve(l net.Listener) error {
	protos := new(http.Protocols)
	protos.SetHTTP1(true)
	protos.SetUnencryptedHTTP2(true)
	protos.SetHTTP2(true)
	srv := &http.Server{Handler: e, Protocols: protos, ReadHeaderTimeout: 10 * time.Second,
		ErrorLog: slog.NewLogLogger(e.opts.Logger.Handler(), slog.LevelDebug)}
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return http.ErrServerClosed
	}
	e.servers = append(e.servers, srv)
	e.mu.Unlock()
	return srv.Serve(l)
}

// ListenAndServe listens on addr (e.g. "127.0.0.1:0") and serves until Close.
func (e *Emulator) ListenAndServe(addr string) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return e.Serve(l)
}

// Close stops the servers started by Serve and closes the ext_proc channels it dialled.
func (e *Emulator) Close() error {
	e.mu.Lock()
	e.closed = true
	servers := e.servers
	e.servers = nil
	e.mu.Unlock()
	var errs []error
	for _, s := range servers {
		errs = append(errs, s.Close())
	}
	errs = append(errs, e.closeConns())
	if s := e.snap.Load(); s != nil {
		s.release()
	}
	return errors.Join(errs...)
}

func (e *Emulator) closeConns() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	var errs []error
	for addr, cc := range e.conns {
		errs = append(errs, cc.Close())
		delete(e.conns, addr)
	}
	return errors.Join(errs...)
}
