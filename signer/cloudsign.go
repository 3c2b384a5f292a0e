package signer

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/keygate/keygate/internal/failure"
	"github.com/keygate/keygate/internal/secret"
)

// The cloud API schemes (tc3, acs3, huawei_apig, volcengine, baidu_bce) share the shape AWS
// SigV4 made common: a canonical request over method, path, query, some headers and the body
// hash, hashed into a string to sign, HMAC'd with the secret or a key derived from it. What
// differs per provider is small and lives in each scheme's file; these are the shared parts.

// deriveHMAC is HMAC-SHA256(key, data) kept as a secret: a key derived from a secret (TC3's
// SecretDate, Volcengine's kDate) is itself key material and must not be printable.
func deriveHMAC(key secret.Value, data string) secret.Value {
	m := hmac.New(sha256.New, key.Reveal())
	m.Write([]byte(data))
	return secret.New(m.Sum(nil))
}

// deriveHMACHex is the lower-case hex text of HMAC-SHA256(key, data), kept as a secret: BCE
// keys its second HMAC with that text.
func deriveHMACHex(key secret.Value, data string) secret.Value {
	m := hmac.New(sha256.New, key.Reveal())
	m.Write([]byte(data))
	return secret.New(hex.AppendEncode(nil, m.Sum(nil)))
}

// prefixedSecret is prefix+key as a new secret (TC3's "TC3"+SecretKey, Aliyun's secret+"&").
func prefixedSecret(prefix string, key secret.Value, suffix string) secret.Value {
	b := make([]byte, 0, len(prefix)+key.Len()+len(suffix))
	b = append(b, prefix...)
	b = append(b, key.Reveal()...)
	b = append(b, suffix...)
	return secret.New(b)
}

// hmacHex is the lower-case hex HMAC-SHA256 of data: a signature, which is not secret.
func hmacHex(key secret.Value, data string) string {
	m := hmac.New(sha256.New, key.Reveal())
	m.Write([]byte(data))
	return hex.EncodeToString(m.Sum(nil))
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// headerPicker decides which request headers a canonical request covers, by lower-case name.
// host (the authority) is always covered.
type headerPicker struct {
	always   map[string]bool // covered when present (content-type)
	prefixes []string        // every header with one of these prefixes (x-acs-, x-bce-)
	extra    map[string]bool // signed_headers from the config
}

func newHeaderPicker(always []string, prefixes []string, extra []string) headerPicker {
	p := headerPicker{always: map[string]bool{}, prefixes: prefixes, extra: map[string]bool{}}
	for _, h := range always {
		p.always[strings.ToLower(h)] = true
	}
	for _, h := range extra {
		p.extra[strings.ToLower(h)] = true
	}
	return p
}

func (p headerPicker) covers(lk string) bool {
	if p.always[lk] || p.extra[lk] {
		return true
	}
	for _, pre := range p.prefixes {
		if strings.HasPrefix(lk, pre) {
			return true
		}
	}
	return false
}

// collect returns the covered header names, lower-cased and sorted, and their values: trimmed,
// several values joined by ",". A signed_headers entry the request lacks is an error: signing
// it empty would be a signature the provider cannot check.
func (p headerPicker) collect(r *Request) ([]string, map[string]string, error) {
	names := []string{"host"}
	values := map[string]string{"host": r.Authority}
	for k, v := range r.Header {
		lk := strings.ToLower(k)
		if lk == "host" || !p.covers(lk) {
			continue
		}
		trimmed := make([]string, len(v))
		for i, val := range v {
			trimmed[i] = strings.TrimSpace(val)
		}
		names = append(names, lk)
		values[lk] = strings.Join(trimmed, ",")
	}
	for h := range p.extra {
		if _, ok := values[h]; !ok {
			return nil, nil, failure.New(failure.BadRequest, "sign", "header %s is in signed_headers but not in the request", h)
		}
	}
	sort.Strings(names)
	return names, values, nil
}

// canonicalRequest is METHOD\nURI\nQUERY\nname:value\n...\n\nSIGNED\nPAYLOAD, the layout of
// SigV4, TC3, ACS3, Huawei APIG and Volcengine, and the signed header list.
func canonicalRequest(method, uri, query string, names []string, values map[string]string, payload string) (string, string) {
	var b strings.Builder
	b.WriteString(method)
	b.WriteByte('\n')
	b.WriteString(uri)
	b.WriteByte('\n')
	b.WriteString(query)
	b.WriteByte('\n')
	for _, n := range names {
		b.WriteString(n)
		b.WriteByte(':')
		b.WriteString(values[n])
		b.WriteByte('\n')
	}
	signed := strings.Join(names, ";")
	b.WriteByte('\n')
	b.WriteString(signed)
	b.WriteByte('\n')
	b.WriteString(payload)
	return b.String(), signed
}

// rfc3986Path is the request path decoded and encoded again with only RFC 3986's unreserved
// characters and "/" kept: the canonical URI of ACS3, Volcengine and BCE. "" becomes "/".
func rfc3986Path(r *Request) (string, error) {
	p := r.PathOnly()
	if p == "" {
		return "/", nil
	}
	dec, err := url.PathUnescape(p)
	if err != nil {
		return "", failure.Wrap(failure.BadRequest, "sign", err, "path")
	}
	return URIEncode(dec, false), nil
}

// queryPairs decodes a raw query into ordered pairs, form-style ('+' is a space). Malformed
// escapes are an error, never a silently dropped pair.
func queryPairs(raw string) ([][2]string, error) {
	var out [][2]string
	for _, p := range strings.Split(raw, "&") {
		if p == "" {
			continue
		}
		k, v, _ := strings.Cut(p, "=")
		uk, err := url.QueryUnescape(k)
		if err != nil {
			return nil, failure.Wrap(failure.BadRequest, "sign", err, "query")
		}
		uv, err := url.QueryUnescape(v)
		if err != nil {
			return nil, failure.Wrap(failure.BadRequest, "sign", err, "query")
		}
		out = append(out, [2]string{uk, uv})
	}
	return out, nil
}

// rfc3986Query is the query's pairs re-encoded (RFC 3986, upper-case hex) and sorted by key,
// then value: the canonical query of TC3's peers (ACS3, Volcengine, Huawei APIG).
func rfc3986Query(raw string) (string, error) {
	q, err := awsCanonicalQuery(raw)
	if err != nil {
		return "", failure.Wrap(failure.BadRequest, "sign", err, "query")
	}
	return q, nil
}

// setHeader sets a header keygate computed, refusing a value a header cannot carry: an ID or
// token read from the keystore may end in a line break (a file's last newline), and a request
// keygate cannot write correctly must not leave. The error names the header, never the value.
func setHeader(r *Request, name, value string) error {
	if !validHeaderValue(value) {
		return failure.New(failure.BadRequest, "sign", "header %s would hold a line break or NUL (check the stored value)", name)
	}
	r.Header.Set(name, value)
	return nil
}

// setIfAbsent sets a header from the config only when the caller did not send it: the request
// already knows its action and version more precisely than a provider-wide default.
func setIfAbsent(r *Request, name, value string) {
	if value != "" && r.Header.Get(name) == "" {
		r.Header.Set(name, value)
	}
}

// checkSignedHeaders validates a signed_headers list: header names, no duplicates, none that
// changes in flight.
func checkSignedHeaders(b Build, names []string) error {
	seen := map[string]bool{}
	for i, h := range names {
		lh := strings.ToLower(h)
		if h == "" || strings.ContainsAny(h, " \t:\r\n") {
			return paramError(b, "signed_headers["+strconv.Itoa(i)+"]", "%q is not a header name", h)
		}
		if seen[lh] {
			return paramError(b, "signed_headers["+strconv.Itoa(i)+"]", "%q is listed twice", h)
		}
		for _, pre := range []string{"x-keygate-", "x-envoy-", "x-forwarded-"} {
			if strings.HasPrefix(lh, pre) {
				return paramError(b, "signed_headers["+strconv.Itoa(i)+"]", "%q cannot be listed: %s* headers are removed or rewritten after signing", h, pre)
			}
		}
		switch lh {
		case "authorization", "content-length", "transfer-encoding", "connection", "host":
			return paramError(b, "signed_headers["+strconv.Itoa(i)+"]", "%q cannot be listed: it is signed already or changes in flight", h)
		}
		seen[lh] = true
	}
	return nil
}

// accessKey is the credential every access-key cloud scheme is built from: a key ID sent in the
// clear (literal, var:NAME or secret:NAME), the secret key's name and an optional session
// token's name. Providers name the parameters differently; the rules are the same.
type accessKey struct {
	idParam, secretParam, tokenParam string
	id                               textParam
	secret, token                    string
	// derived: the scheme derives keys from the secret's bytes, so the secret must be readable
	// (KV); otherwise a Transit HMAC key serves too.
	derived bool
}

func (k accessKey) build(b Build) (plainValue, error) {
	id, err := parsePlainValue(b, k.idParam, k.id, true, true)
	if err != nil {
		return plainValue{}, err
	}
	if err := requireParamSecret(b, k.secretParam, k.secret, k.derived); err != nil {
		return plainValue{}, err
	}
	if k.token != "" {
		if err := requireParamSecret(b, k.tokenParam, k.token, true); err != nil {
			return plainValue{}, err
		}
	}
	return id, nil
}

// setSessionToken sends the optional session (STS) token named by secret in header, and marks
// it sensitive: it leaves in the clear, but no reply, log or script reader may show it.
func setSessionToken(ctx context.Context, x *Exchange, secret, header string) error {
	if secret == "" {
		return nil
	}
	tok, err := x.Keys.Secret(ctx, x, secret)
	if err != nil {
		return err
	}
	if err := setHeader(x.Request, header, string(tok.Reveal())); err != nil {
		return err
	}
	x.MarkSensitive(string(tok.Reveal()))
	return nil
}
