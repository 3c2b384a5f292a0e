package emu

import (
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials"
	_ "google.golang.org/grpc/health" // the client side of gRPC health checking
	"google.golang.org/grpc/resolver"
	"google.golang.org/grpc/resolver/manual"
)

// extProcConnectTimeout bounds one connection attempt to the processor (gRPC's own default).
const extProcConnectTimeout = 20 * time.Second

// extProcHosts are the ext_proc cluster's hosts: several (replicas of keygate) or the one address.
func extProcHosts(cfg Config) []string {
	if len(cfg.ExtProcEndpoints) > 1 {
		return cfg.ExtProcEndpoints
	}
	return []string{cfg.ExtProcAddress}
}

// healthCheckedRoundRobin is the service config of a cluster of several health-checked hosts:
// streams are spread round robin over the hosts whose gRPC health is SERVING, as Envoy's
// load balancer spreads them over the hosts its health checker found healthy.
const healthCheckedRoundRobin = `{"loadBalancingConfig":[{"round_robin":{}}],"healthCheckConfig":{"serviceName":""}}`

// dialExtProc opens the emulator's channel to the ext_proc cluster. One host: a plain channel
// (with one host Envoy's panic threshold routes to it whatever its health, so health checks
// change nothing). Several: a channel over all of them, round robin, health-checked when the
// cluster is. Differences from Envoy (docs/envoy-ext-proc.md section 12): gRPC watches health
// (Watch) rather than polling it every interval, so a draining host is left at once rather than
// within one interval; and with every host unhealthy Envoy's panic mode still routes, where here
// the stream fails (a 500, fail closed either way). A host that comes back is dialled again
// within a second, as Envoy would find it at its next check.
func dialExtProc(cfg Config, creds credentials.TransportCredentials) (*grpc.ClientConn, error) {
	// MinConnectTimeout must be set with ConnectParams: left zero, each connection attempt gets
	// only the backoff delay (100ms) to dial and finish the HTTP/2 handshake, which a loaded
	// machine misses, failing every stream of the egress (gRPC UNAVAILABLE: a 500).
	opts := []grpc.DialOption{grpc.WithTransportCredentials(creds), grpc.WithConnectParams(grpc.ConnectParams{
		Backoff:           backoff.Config{BaseDelay: 100 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: time.Second},
		MinConnectTimeout: extProcConnectTimeout,
	})}
	hosts := extProcHosts(cfg)
	if len(hosts) == 1 {
		return grpc.NewClient(hosts[0], opts...)
	}
	r := manual.NewBuilderWithScheme("emu-extproc")
	addrs := make([]resolver.Address, len(hosts))
	for i, h := range hosts {
		addrs[i] = resolver.Address{Addr: h}
	}
	r.InitialState(resolver.State{Addresses: addrs})
	sc := `{"loadBalancingConfig":[{"round_robin":{}}]}`
	if cfg.ExtProcHealthChecked {
		sc = healthCheckedRoundRobin
	}
	return grpc.NewClient(r.Scheme()+":///keygate_ext_proc", append(opts, grpc.WithResolvers(r), grpc.WithDefaultServiceConfig(sc))...)
}
