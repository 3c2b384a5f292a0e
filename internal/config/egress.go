package config

import (
	"net"
)

// Egress is the listener keygate pushes to its Envoy over xDS, where services send their
// calls. Its paths are on Envoy's file system: keygate names them, Envoy reads them.
type Egress struct {
	Address string `json:"address,omitempty"` // IP literal Envoy binds; default 0.0.0.0
	Port    int    `json:"port,omitempty"`    // default 10000
	// TLS terminates TLS on the egress listener. With client_ca_file, every caller must present
	// a certificate that chains to it, and its URI SAN (a SPIFFE ID) reaches keygate as the
	// connection attribute tenancy reads: SPIFFE-ID tenancy without a mesh in front.
	TLS *EgressTLS `json:"tls,omitempty"`
}

// EgressTLS is Envoy's server side of the egress listener.
type EgressTLS struct {
	CertFile string `json:"cert_file"`
	KeyFile  string `json:"key_file"`
	// ClientCAFile: callers' certificates must chain to it (required and validated). Empty:
	// TLS without client certificates (AppKey tenancy only: no SPIFFE ID reaches keygate).
	ClientCAFile string `json:"client_ca_file,omitempty"`
}

func validateEgress(e Egress, add func(string, string, ...any)) {
	if e.Address != "" && net.ParseIP(e.Address) == nil {
		add("egress.address", "%q: want an IP address for Envoy to bind (0.0.0.0, ::, 127.0.0.1)", e.Address)
	}
	if e.Port < 0 || e.Port > 65535 {
		add("egress.port", "%d: want 1-65535 (0 or unset: 10000)", e.Port)
	}
	t := e.TLS
	if t == nil {
		return
	}
	for _, f := range []struct{ path, v string }{{"cert_file", t.CertFile}, {"key_file", t.KeyFile}} {
		if f.v == "" {
			add("egress.tls."+f.path, "required with egress.tls (a path on Envoy's file system)")
		}
	}
}
