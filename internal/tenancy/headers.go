package tenancy

const (
	// HeaderPrefix starts every keygate-specific request header. Such headers are addressed to
	// keygate only: gateway.BeginWith refuses any but TenantKeyHeader and forwards none, so a
	// consumer cannot spoof keygate's own headers towards a provider, and a tenant key never
	// leaves the gateway.
	HeaderPrefix = "x-keygate-"
	// TenantKeyHeader carries the tenant AppKey a consumer presents on each request.
	TenantKeyHeader = HeaderPrefix + "tenant-key"
	// SPIFFEAttribute is the ext_proc request attribute (CEL expression) holding the peer's URI
	// SAN, its SPIFFE ID when Envoy terminates mTLS.
	SPIFFEAttribute = "connection.uri_san_peer_certificate"
)

// IsKeygateHeader reports whether a header name (any case) is a keygate-specific header that
// must be stripped before forwarding. An underscore counts as a hyphen: Envoy passes
// "x_keygate_callback" (headers_with_underscores_action defaults to ALLOW), and CGI-style
// servers (WSGI, Rack, PHP) read it as the X-Keygate-Callback keygate sets, so a caller could
// smuggle a second "verified by" claim next to keygate's.
func IsKeygateHeader(name string) bool {
	if len(name) < len(HeaderPrefix) {
		return false
	}
	for i := 0; i < len(HeaderPrefix); i++ {
		c := name[i]
		switch {
		case c == '_':
			c = '-'
		case 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
		}
		if c != HeaderPrefix[i] {
			return false
		}
	}
	return true
}
