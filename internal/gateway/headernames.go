package gateway

import "net/http"

// Header names on most requests and answers (Envoy's, tracing's, the common HTTP ones) and the
// ones keygate's schemes set, lower-case. Their canonical and lower-case strings are looked up
// instead of built: net/http's CanonicalHeaderKey interns only its own short list and allocates
// any other name, and the lower-case name of a header a step set is a string handed to Envoy;
// both were an allocation per header and request (profiled). A fixed list: what a request
// sends never grows it.
var wellKnownHeaders = []string{
	"x-request-id", "x-forwarded-proto", "x-forwarded-for", "x-forwarded-client-cert", "x-envoy-internal",
	"x-envoy-expected-rq-timeout-ms", "x-envoy-attempt-count", "x-envoy-original-path",
	"x-envoy-decorator-operation", "x-envoy-upstream-service-time", "x-client-trace-id",
	"traceparent", "tracestate", "x-b3-traceid", "x-b3-spanid", "x-b3-parentspanid", "x-b3-sampled", "x-b3-flags",
	"accept", "accept-encoding", "content-type", "content-length", "content-encoding", "date", "server",
	"user-agent", "cache-control", "vary", "authorization", "x-api-key", "signature", "signature-input",
	"content-digest", "x-amz-date", "x-amz-content-sha256", "x-amz-security-token", "x-date", "x-sdk-date",
	"x-acs-date", "x-acs-signature-nonce", "x-acs-content-sha256", "x-bce-date", "x-tc-timestamp",
}

var (
	canonicalByLower = make(map[string]string, len(wellKnownHeaders))
	internedLower    = make(map[string]string, len(wellKnownHeaders))
)

func init() {
	for _, name := range wellKnownHeaders {
		canonicalByLower[name] = http.CanonicalHeaderKey(name)
		internedLower[name] = name
	}
}

// CanonicalKey is http.CanonicalHeaderKey(name), without an allocation for a well-known name
// given lower-case.
func CanonicalKey(name string) string {
	if key, ok := canonicalByLower[name]; ok {
		return key
	}
	return http.CanonicalHeaderKey(name)
}

// LowerName is string(name) for a header name already lower-cased in a buffer, without an
// allocation for a well-known name.
func LowerName(name []byte) string {
	if s, ok := internedLower[string(name)]; ok {
		return s
	}
	return string(name)
}
