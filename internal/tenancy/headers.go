package tenancy

import "strings"

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
// must be stripped before forwarding.
func IsKeygateHeader(name string) bool {
	return len(name) >= len(HeaderPrefix) && strings.EqualFold(name[:len(HeaderPrefix)], HeaderPrefix)
}
