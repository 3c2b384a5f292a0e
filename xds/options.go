package xds

import (
	"net"
	"time"

	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/keystore"
)

// Defaults for Options; Envoy names and numbers the rest of keygate relies on.
const (
	DefaultListenerName       = "egress"
	DefaultListenerAddress    = "0.0.0.0"
	DefaultListenerPort       = 10000
	DefaultRouteConfigName    = "egress_routes"
	DefaultExtProcClusterName = "keygate_ext_proc"
	DefaultExtProcAddress     = "127.0.0.1:18080"
	DefaultExtProcFilterName  = "envoy.filters.http.ext_proc"
	DefaultMaxBodyBytes       = 1 << 20 // Envoy's default per-connection buffer limit
	DefaultRouteTimeout       = 15 * time.Second
	DefaultConnectTimeout     = 5 * time.Second
	DefaultExtProcConnect     = time.Second
	// ExtProcHealthInterval is how often Envoy checks keygate's gRPC health; keygate serve's
	// --drain-delay (default 2s) must be above it.
	ExtProcHealthInterval = time.Second
	// DefaultCAFile is the system trust bundle in the envoyproxy/envoy image (Debian/Ubuntu layout).
	DefaultCAFile = "/etc/ssl/certs/ca-certificates.crt"

	// MaxMessageTimeout is ext_proc's max_message_timeout: the longest keygate may ask Envoy to
	// wait for one message with override_message_timeout (the token retry, which fetches a
	// token and calls the provider within one response_headers message). extproc's
	// Options.MaxMessageTimeout defaults to the same value.
	MaxMessageTimeout = 60 * time.Second

	// ProviderClusterPrefix + provider name is the cluster of a provider.
	ProviderClusterPrefix = "provider_"
)

// Options shape the Envoy resources; zero values take the defaults (see withDefaults).
type Options struct {
	ListenerName    string // default "egress"
	ListenerAddress string // default 0.0.0.0
	ListenerPort    uint32 // default 10000

	RouteConfigName string // default "egress_routes"

	ExtProcClusterName string // default "keygate_ext_proc"
	// ExtProcAddress is keygate's ext_proc host:port as Envoy dials it. Default: listen.ext_proc
	// from the config, with an unspecified host (0.0.0.0, ::) replaced by 127.0.0.1; else
	// 127.0.0.1:18080. Set it when Envoy reaches keygate by another name (a container, a Service).
	ExtProcAddress    string
	ExtProcFilterName string // default "envoy.filters.http.ext_proc"
	// ExtProcTLS is listen.tls of the running ext_proc server (nil: plaintext). It comes from
	// the listener keygate really serves, not from each pushed config, so Envoy's side always
	// matches it; listen changes take a restart.
	ExtProcTLS *config.ListenTLS

	// MaxBodyBytes is Envoy's per-connection buffer limit, the largest body ext_proc sees in
	// BUFFERED mode. Default: limits.max_body_bytes, else 1 MiB.
	MaxBodyBytes int64
	// MessageTimeout bounds each ext_proc message round trip (Envoy default 200ms, too short
	// for a Vault call or a big body). Default: 1s per started MiB of MaxBodyBytes, at least 1s,
	// and more than the longest token fetch (token.timeout + 1s) and the longest cold secret
	// read (a provider's secrets are read one after another, each bounded by
	// keystore.vault.timeout): keygate's own clear 503/504 must come before Envoy's empty 504.
	MessageTimeout time.Duration

	// DefaultCAFile is the trusted CA bundle for upstreams without upstream.ca_file.
	DefaultCAFile string

	// phase is the listener's routing.PhaseMetadata, sent on its ext_proc streams ("" for the
	// egress listener; the ingress listener's is routing.IngressPhase).
	phase string
}

// withDefaults fills every zero field; it is the one place defaults live.
func (o Options) withDefaults(f *config.File) Options {
	if o.ListenerName == "" {
		o.ListenerName = DefaultListenerName
	}
	if o.ListenerAddress == "" {
		o.ListenerAddress = DefaultListenerAddress
	}
	if o.ListenerPort == 0 {
		o.ListenerPort = DefaultListenerPort
	}
	if o.RouteConfigName == "" {
		o.RouteConfigName = DefaultRouteConfigName
	}
	if o.ExtProcClusterName == "" {
		o.ExtProcClusterName = DefaultExtProcClusterName
	}
	if o.ExtProcAddress == "" {
		o.ExtProcAddress = dialable(f.Listen.ExtProc, DefaultExtProcAddress)
	}
	if o.ExtProcFilterName == "" {
		o.ExtProcFilterName = DefaultExtProcFilterName
	}
	if o.MaxBodyBytes == 0 {
		o.MaxBodyBytes = f.Limits.MaxBodyBytes
	}
	if o.MaxBodyBytes == 0 {
		o.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if o.MessageTimeout == 0 {
		mib := (o.MaxBodyBytes + (1<<20 - 1)) >> 20
		o.MessageTimeout = max(time.Second, time.Duration(mib)*time.Second)
		var vault time.Duration
		if f.Keystore.Type == "vault" && f.Keystore.Vault != nil {
			vault = f.Keystore.Vault.Timeout.Or(keystore.DefaultVaultTimeout)
		}
		for _, p := range f.Providers {
			if p.Token != nil {
				o.MessageTimeout = max(o.MessageTimeout, p.Token.Timeout.Or(config.DefaultTokenTimeout)+time.Second)
			}
			o.MessageTimeout = max(o.MessageTimeout, time.Duration(len(p.Secrets))*vault+time.Second)
		}
	}
	if o.DefaultCAFile == "" {
		o.DefaultCAFile = DefaultCAFile
	}
	return o
}

// dialable turns a listen address into one a local Envoy can dial.
func dialable(listen, def string) string {
	if listen == "" {
		return def
	}
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return listen // reported when the cluster address is parsed
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

// ClusterName is the Envoy cluster keygate generates for a provider.
func ClusterName(provider string) string { return ProviderClusterPrefix + provider }
