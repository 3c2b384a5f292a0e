package tenancy

import "unicode"

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
//
// A name with non-ASCII letters that fold onto the prefix under Unicode case folding counts too
// ("x-\u212aeygate-", with the KELVIN SIGN): Envoy lower-cases ASCII only and keeps such a name
// as sent, but strings.EqualFold and strings.ToLower, and servers that fold Unicode (JavaScript's
// toLowerCase), read it as keygate's.
func IsKeygateHeader(name string) bool {
	if len(name) < len(HeaderPrefix) {
		return false
	}
	for i := 0; i < len(HeaderPrefix); i++ {
		c := name[i]
		if c >= 0x80 {
			return foldsToPrefix(name)
		}
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

// foldsToPrefix reports whether name's first runes fold (Unicode simple folding, an underscore
// as a hyphen) onto HeaderPrefix.
func foldsToPrefix(name string) bool {
	i := 0
	for _, r := range name {
		if i == len(HeaderPrefix) {
			return true
		}
		want := rune(HeaderPrefix[i])
		if r == '_' {
			r = '-'
		}
		if r != want && !foldsTo(r, want) {
			return false
		}
		i++
	}
	return i == len(HeaderPrefix)
}

// foldsTo reports whether r is in want's case-folding orbit.
func foldsTo(r, want rune) bool {
	for f := unicode.SimpleFold(want); f != want; f = unicode.SimpleFold(f) {
		if f == r {
			return true
		}
	}
	return false
}

// IsTenantKeyHeader reports whether name is TenantKeyHeader in any ASCII case: the name Envoy
// forwards and removes. A look-alike ("x-keygate-tenant-\u212aey") is not the tenant key; it is
// a keygate header (IsKeygateHeader) and refused as one.
func IsTenantKeyHeader(name string) bool {
	if len(name) != len(TenantKeyHeader) {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != TenantKeyHeader[i] {
			return false
		}
	}
	return true
}
