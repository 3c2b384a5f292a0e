package config

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"

	"github.com/keygate/keygate/internal/routing"
)

// ClientID is a peer identity an allow-list names: a SPIFFE ID (URI SAN) or a DNS name (DNS SAN).
type ClientID struct {
	URI string // "spiffe://trust-domain/path", compared byte for byte with a URI SAN
	DNS string // lower-case DNS name, compared with a DNS SAN
}

func (c ClientID) String() string {
	if c.URI != "" {
		return c.URI
	}
	return "dns:" + c.DNS
}

// ParseClientID reads "spiffe://trust-domain/path" or "dns:name". It is strict: a SPIFFE ID
// as the SPIFFE spec writes it (no query, fragment, user info or port, no empty or dot
// segments), a DNS name in lower case without wildcards. Matching is exact, so an ID that
// could be spelled two ways is refused rather than normalised.
func ParseClientID(s string) (ClientID, error) {
	switch {
	case strings.HasPrefix(s, "spiffe://"):
		u, err := url.Parse(s)
		if err != nil || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil ||
			u.Port() != "" || u.RawPath != "" || strings.ToLower(u.Host) != u.Host || u.ForceQuery {
			return ClientID{}, fmt.Errorf("%q is not a SPIFFE ID (spiffe://trust-domain/path)", s)
		}
		if u.Path != "" {
			for _, seg := range strings.Split(u.Path[1:], "/") {
				if seg == "" || seg == "." || seg == ".." {
					return ClientID{}, fmt.Errorf("%q: a SPIFFE ID path has no empty, '.' or '..' segments", s)
				}
			}
		}
		return ClientID{URI: s}, nil
	case strings.HasPrefix(s, "dns:"):
		name := strings.TrimPrefix(s, "dns:")
		if !isDNSName(name) {
			return ClientID{}, fmt.Errorf("%q: want dns: and a lower-case DNS name without wildcards", s)
		}
		return ClientID{DNS: name}, nil
	}
	return ClientID{}, fmt.Errorf("%q: want spiffe://trust-domain/path or dns:name", s)
}

// isDNSName is the host rule providers' hosts follow (routing.CheckHost): lower-case labels
// of a-z, 0-9 and '-', no wildcard, no port, no IP literal. One rule for every name keygate
// compares exactly.
func isDNSName(s string) bool { return routing.CheckHost(s) == nil }

// IsLoopback reports whether a listen address binds loopback only. An empty or unspecified
// host (":18080", "0.0.0.0", "[::]") binds every interface; a name other than localhost
// may resolve anywhere.
func IsLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func validateListen(l Listen, add func(string, string, ...any)) {
	if a := l.ExtProcAdvertise; a != "" {
		host, port, err := net.SplitHostPort(a)
		if n, perr := strconv.Atoi(port); err != nil || host == "" || perr != nil || n < 1 || n > 65535 {
			add("listen.ext_proc_advertise", "%q: want host:port, the address Envoy dials (a Service name)", a)
		}
	}
	if h := l.Health; h != "" {
		if _, port, err := net.SplitHostPort(h); err != nil || port == "" {
			add("listen.health", "%q: want host:port (the kubelet's probes: 0.0.0.0:18082)", h)
		}
	}
	t := l.TLS
	if t == nil {
		return
	}
	for _, f := range []struct{ path, v string }{{"cert_file", t.CertFile}, {"key_file", t.KeyFile}, {"client_ca_file", t.ClientCAFile}} {
		if f.v == "" {
			add("listen.tls."+f.path, "required: keygate's listeners verify every client certificate")
		}
	}
	for _, c := range []struct {
		name string
		ids  []string
	}{{"ext_proc", t.Clients.ExtProc}, {"xds", t.Clients.XDS}, {"admin", t.Clients.Admin}} {
		name, ids := c.name, c.ids
		if len(ids) == 0 {
			add("listen.tls.clients."+name, "at least one client identity is required (spiffe://... or dns:name): an empty list would refuse every client")
		}
		for i, id := range ids {
			if _, err := ParseClientID(id); err != nil {
				add(fmt.Sprintf("listen.tls.clients.%s[%d]", name, i), "%v", err)
			}
		}
	}
	e := t.Envoy
	if e == nil {
		add("listen.tls.envoy", "required with listen.tls: Envoy must present a client certificate to the ext_proc server keygate pushes it")
		return
	}
	for _, f := range []struct{ path, v string }{{"cert_file", e.CertFile}, {"key_file", e.KeyFile}, {"ca_file", e.CAFile}} {
		if f.v == "" {
			add("listen.tls.envoy."+f.path, "required (a path on Envoy's file system)")
		}
	}
	if _, err := ParseClientID(e.ServerID); err != nil {
		add("listen.tls.envoy.server_id", "%v", err)
	}
	if e.SNI != "" && !isDNSName(e.SNI) {
		add("listen.tls.envoy.sni", "%q is not a lower-case DNS name", e.SNI)
	}
}
