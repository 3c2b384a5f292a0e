package signer

import (
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"sort"
	"strings"

	"github.com/keygate/keygate/internal/failure"
)

// The canonical request of aws_sigv4_sdk: the SDK's payload mode and signed headers, rebuilt
// over the request as it will leave.

// awsPayloadHash is the payload hash of a header-form request: the SDK's X-Amz-Content-Sha256
// mode where keygate can re-sign it, the body's hash otherwise.
func awsPayloadHash(r *Request) (string, error) {
	vals := r.Header.Values("X-Amz-Content-Sha256")
	if len(vals) == 0 {
		sum := sha256.Sum256(r.Body())
		return hex.EncodeToString(sum[:]), nil
	}
	return awsPayloadMode(vals, r.Body())
}

// awsPayloadMode is the one judge of the SDK's X-Amz-Content-Sha256 values (a header, or a
// presigned URL's query parameter): exactly one, a mode keygate can re-sign, a digest of body.
func awsPayloadMode(vals []string, b []byte) (string, error) {
	if len(vals) > 1 {
		return "", failure.New(failure.BadRequest, placeholderStage, "X-Amz-Content-Sha256 is given %d times", len(vals))
	}
	sum := sha256.Sum256(b)
	body := hex.EncodeToString(sum[:])
	switch v := vals[0]; {
	case v == "UNSIGNED-PAYLOAD", v == "STREAMING-UNSIGNED-PAYLOAD-TRAILER":
		// The body is not signed (the trailer's checksum is not either): re-signable as is.
		return v, nil
	case strings.HasPrefix(v, "STREAMING-"):
		return "", failure.New(failure.BadRequest, placeholderStage,
			"X-Amz-Content-Sha256 %s: every chunk of a signed streaming upload is signed with the placeholder key, and keygate does not re-sign chunks; "+
				"configure the SDK for unsigned payloads over TLS or a single-part body (docs/sdks.md)", printable(v))
	case len(v) == 64 && isLowerHex(v):
		if v != body {
			return "", failure.New(failure.BadRequest, placeholderStage, "X-Amz-Content-Sha256 does not match the body")
		}
		return body, nil
	default:
		return "", failure.New(failure.BadRequest, placeholderStage, "X-Amz-Content-Sha256 %q is neither a SHA-256 hex digest nor a payload mode", printable(v))
	}
}

func isLowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// awsSignedNames is the SDK's signed-header list kept where it can be: headers present in the
// request, less those keygate never signs, plus the ones keygate's signature needs. Sorted.
func awsSignedNames(r *Request, sdk, need []string) []string {
	present := map[string]bool{"host": true}
	for k := range r.Header {
		present[strings.ToLower(k)] = true
	}
	set := map[string]bool{}
	for _, n := range sdk {
		n = strings.TrimSpace(n)
		if n == "" || !present[n] || awsNeverSigned[n] || strings.HasPrefix(n, "x-envoy-") ||
			strings.HasPrefix(n, "x-forwarded-") || strings.HasPrefix(n, "x-keygate-") {
			continue
		}
		set[n] = true
	}
	for _, n := range need {
		set[n] = true
	}
	names := make([]string, 0, len(set))
	for n := range set {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// awsCanonical is AWS's CanonicalRequest over exactly the given header names.
func awsCanonical(r *Request, service, query string, names []string, payload string) string {
	path := r.PathOnly()
	if path == "" {
		path = "/"
	}
	if service == "s3" { // S3 signs the path encoded once; every other service twice
		if p, err := url.PathUnescape(path); err == nil {
			path = p
		}
	}
	values := make(map[string]string, len(names))
	for _, n := range names {
		if n == "host" {
			values[n] = r.Authority
		} else {
			values[n] = awsHeaderValue(r.Header.Values(n))
		}
	}
	creq, _ := canonicalRequest(r.Method, URIEncode(path, false), query, names, values, payload)
	return creq
}
