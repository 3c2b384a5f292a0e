package tenancy

import "strings"

const (
	// HeaderPrefix starts every keygate-specific request header. Such headers are addressed to
	// keygate only: the ext_proc server removes all of them before a request is forwarded, so a
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

// KeygateHeaders returns the names among names that must be stripped before forwarding, in
// their order. The ext_proc server passes them to a header mutation's remove list.
func KeygateHeaders(names []string) []string {
	var out []string
	for _, n := range names {
		if IsKeygateHeader(n) {
			out = append(out, n)
		}
	}
	return out
}

// StripKeygateHeaders deletes every keygate-specific header from h in place (for callers that
// hold a map such as http.Header or signer.Request headers keyed by name).
func StripKeygateHeaders[V any](h map[string]V) {
	for name := range h {
		if IsKeygateHeader(name) {
			delete(h, name)
		}
	}
}
