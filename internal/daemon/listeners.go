package daemon

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/keepalive"

	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/internal/mtls"
)

// transport is how each listener secures its connections: mTLS when listen.tls is set, else
// plaintext (allowed beyond loopback only with listen.insecure_plaintext).
type transport struct {
	extProc, xds []grpc.ServerOption
	admin        *tls.Config // nil: plaintext
}

// listenTransport refuses plaintext where anyone but a local Envoy could connect, and builds
// the mTLS servers otherwise. An ext_proc port is a signing oracle and xDS lists every provider:
// neither may be open beyond loopback by default. The admin API authenticates every call with
// a bearer token, so a plaintext admin beyond loopback is only warned about.
func listenTransport(l config.Listen, log *slog.Logger) (transport, error) {
	t := l.TLS
	if t == nil {
		for _, c := range []struct{ name, addr string }{{"ext_proc", l.ExtProc}, {"xds", l.XDS}} {
			if !config.IsLoopback(c.addr) && !l.InsecurePlaintext {
				return transport{}, fmt.Errorf("listen.%s: %s is not a loopback address and listen.tls is not set: "+
					"anything that reaches the %s port could %s. Set listen.tls (mutual TLS; docs/operations.md), "+
					"bind 127.0.0.1, or set listen.insecure_plaintext: true if a network policy already guards it",
					c.name, c.addr, c.name, map[string]string{"ext_proc": "get requests signed with your providers' keys",
						"xds": "read every provider, host and upstream"}[c.name])
			}
		}
		for _, c := range []struct{ name, addr string }{{"ext_proc", l.ExtProc}, {"xds", l.XDS}, {"admin", l.Admin}} {
			if !config.IsLoopback(c.addr) {
				log.Warn("listener in plaintext beyond loopback", "listener", c.name, "address", c.addr)
			}
		}
		return transport{extProc: []grpc.ServerOption{grpc.ConnectionTimeout(HandshakeTimeout)},
			xds: []grpc.ServerOption{grpc.ConnectionTimeout(HandshakeTimeout)}}, nil
	}
	files := mtls.Files{Cert: t.CertFile, Key: t.KeyFile, ClientCA: t.ClientCAFile}
	server := func(name string, allowed []string) (*mtls.Server, error) {
		s, err := mtls.New(name, files, allowed, log)
		if err != nil {
			return nil, fmt.Errorf("listen.tls: %w", err)
		}
		return s, nil
	}
	ext, err := server("ext_proc", t.Clients.ExtProc)
	if err != nil {
		return transport{}, err
	}
	xdsTLS, err := server("xds", t.Clients.XDS)
	if err != nil {
		return transport{}, err
	}
	admin, err := server("admin", t.Clients.Admin)
	if err != nil {
		return transport{}, err
	}
	return transport{
		extProc: []grpc.ServerOption{grpc.Creds(credentials.NewTLS(ext.Config("h2"))), grpc.ConnectionTimeout(HandshakeTimeout)},
		xds:     []grpc.ServerOption{grpc.Creds(credentials.NewTLS(xdsTLS.Config("h2"))), grpc.ConnectionTimeout(HandshakeTimeout)},
		admin:   admin.Config("http/1.1"), // net/http serves h2 only through ServeTLS
	}, nil
}

// maxStreams is limits.ext_proc_max_streams or its default: the streams open at once, per
// connection (gRPC MaxConcurrentStreams) and over all connections (extproc.Options.MaxStreams).
func maxStreams(l config.Limits) int {
	if l.ExtProcMaxStreams == 0 {
		return DefaultExtProcMaxStreams
	}
	return int(l.ExtProcMaxStreams)
}

// memoryBudget is limits.ext_proc_memory_bytes or its default: the memory the ext_proc
// streams may hold for bodies (extproc.Options.MemoryBudget).
func memoryBudget(l config.Limits) int64 {
	if l.ExtProcMemoryBytes == 0 {
		return DefaultExtProcMemoryBytes
	}
	return l.ExtProcMemoryBytes
}

// Defaults of the limits that bound what clients of keygate's ports can hold.
const (
	DefaultExtProcMemoryBytes  = 1 << 30
	DefaultExtProcMaxStreams   = 4096
	DefaultAdminMaxConnections = 256
	// AdminMaxPerPeer bounds one IP address's share of the admin connections.
	AdminMaxPerPeer = 32
	// HandshakeTimeout bounds a gRPC connection's TLS handshake and HTTP/2 preface (gRPC's
	// default is 120 s): a client without a certificate must not hold a descriptor that long.
	HandshakeTimeout = 5 * time.Second
)

// adminListener caps the admin listener's open connections, in all and per client address
// (capListener), and wraps it in TLS when it has a config. Its second result is the ConnState
// hook the admin http.Server must report to, so the cap knows which connections are idle.
func (t transport) adminListener(l net.Listener, limits config.Limits) (net.Listener, func(net.Conn, http.ConnState)) {
	n := adminMaxConnections(limits)
	capped := capListener(l, n, min(n, AdminMaxPerPeer))
	if t.admin == nil {
		return capped, capped.connState
	}
	return tls.NewListener(capped, t.admin), capped.connState
}

// adminServer bounds every phase of an admin connection: a slow or idle client is cut, not
// kept (together with the connection cap, a flood of idle connections leaves /readyz and
// ext_proc answering).
func adminServer(h http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{Handler: h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second, // a dry run may wait on a token endpoint
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug), // refused handshakes, at debug
	}
}

// extProcLimits are the ext_proc server's bounds: concurrent streams per connection, and
// keepalive enforcement (a client pinging more often than every 10s is cut; dead connections
// are found within 40s).
func extProcLimits(limits config.Limits) []grpc.ServerOption {
	return []grpc.ServerOption{
		grpc.MaxConcurrentStreams(uint32(maxStreams(limits))),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 10 * time.Second, PermitWithoutStream: true}),
		grpc.KeepaliveParams(keepalive.ServerParameters{Time: 30 * time.Second, Timeout: 10 * time.Second}),
	}
}
