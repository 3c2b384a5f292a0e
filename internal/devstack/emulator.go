package devstack

import (
	"net"
	"time"

	filterv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"

	"github.com/keygate/keygate/envoy/emu"
	"github.com/keygate/keygate/internal/gateway"
)

// MessageTimeout is the ext_proc message_timeout keygate's Envoy config uses: a two-step
// provider may fetch a token while Envoy waits for the headers or body response, so Envoy's
// 200 ms default is too short.
const MessageTimeout = 10 * time.Second

// EmulatorConfig is the Envoy configuration keygate ships (the same settings its xDS server
// pushes), for the emulator: the ext_proc filter with BUFFERED bodies, routing-header
// mutations allowed, mode_override allowed, failure_mode_allow off; one virtual host per
// provider matching only its aliases (two providers may share an upstream host, so routing
// never looks at the rewritten :authority), host_rewrite_literal to the upstream host, and the
// provider's timeout as the route timeout.
func EmulatorConfig(snap *gateway.Snapshot, extProcAddr string) emu.Config {
	cfg := emu.Config{
		ExtProcAddress: extProcAddr,
		ProcessingMode: &filterv3.ProcessingMode{
			RequestHeaderMode:   filterv3.ProcessingMode_SEND,
			ResponseHeaderMode:  filterv3.ProcessingMode_SEND,
			RequestBodyMode:     filterv3.ProcessingMode_BUFFERED,
			ResponseBodyMode:    filterv3.ProcessingMode_BUFFERED,
			RequestTrailerMode:  filterv3.ProcessingMode_SKIP,
			ResponseTrailerMode: filterv3.ProcessingMode_SKIP,
		},
		MutationRules:     &emu.MutationRules{AllowAllRouting: true},
		FailureModeAllow:  false,
		AllowModeOverride: true,
		MessageTimeout:    MessageTimeout,
		BufferLimit:       int(snap.MaxBody),
		RequestAttributes: []string{"connection.uri_san_peer_certificate"},
		Clusters:          map[string]emu.Cluster{},
	}
	for _, p := range snap.Providers() {
		cluster := "provider_" + p.Name
		host := p.Upstream.Hostname()
		port := p.Upstream.Port()
		if port == "" {
			port = map[string]string{"https": "443", "http": "80"}[p.Upstream.Scheme]
		}
		cfg.VirtualHosts = append(cfg.VirtualHosts, emu.VirtualHost{
			Name:    p.Name,
			Domains: append([]string{}, p.Hosts...),
			Routes: []emu.Route{{Prefix: "/", Cluster: cluster, Timeout: emu.Duration(p.Timeout),
				HostRewriteLiteral: p.Upstream.Host}},
		})
		cfg.Clusters[cluster] = emu.Cluster{Endpoints: []string{net.JoinHostPort(host, port)}}
	}
	return cfg
}
