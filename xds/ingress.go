package xds

import (
	"fmt"
	"net"
	"strconv"

	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"

	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/internal/routing"
)

// The ingress listener receives providers' callbacks (payment notifications) and routes them,
// verified by keygate's ext_proc, to the service's own endpoint (docs/callbacks.md). It is a
// listener of its own, with a route configuration holding only callback providers, so that
// nothing from the internet can reach an egress route (and its signing keys), and no service
// can send a forged callback through the egress.
const (
	IngressListenerName    = "ingress"
	IngressRouteConfigName = "ingress_routes"
	DefaultIngressAddress  = "0.0.0.0:10001"
)

// ingress is the callback side of a snapshot, nil when no provider has callback: true.
type ingress struct {
	opts   Options
	routes *routeTable
}

func newIngress(f *config.File, o Options) (*ingress, error) {
	var n int
	for _, p := range f.Providers {
		if p.Callback {
			n++
		}
	}
	if n == 0 {
		return nil, nil
	}
	addr := f.Listen.Ingress
	if addr == "" {
		addr = DefaultIngressAddress
	}
	host, port, err := net.SplitHostPort(addr)
	p, perr := strconv.ParseUint(port, 10, 16)
	if err != nil || perr != nil || p == 0 || net.ParseIP(host) == nil {
		return nil, fmt.Errorf("listen.ingress: %q is not IP:port", addr)
	}
	io := o
	io.ListenerName, io.RouteConfigName = IngressListenerName, IngressRouteConfigName
	io.ListenerAddress, io.ListenerPort = host, uint32(p)
	// keygate serves a callback provider only on a stream this listener opened, and nothing
	// else there: a request no ingress route matched is not signed for an egress provider.
	io.phase = routing.IngressPhase
	return &ingress{opts: io, routes: newRouteTable(IngressRouteConfigName, nil)}, nil
}

// listener is the ingress listener: the same connection manager and ext_proc filter as the
// egress (keygate's processing mode override asks for what the callback scheme needs).
func (in *ingress) listener() (*listenerv3.Listener, error) {
	return egressListener(in.opts)
}
