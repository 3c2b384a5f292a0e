package signer

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/keygate/keygate/internal/failure"
)

const amzDateFormat = "20060102T150405Z"

// awsParams configure AWS Signature Version 4, header form. The signing key is derived with
// local HMACs from the secret access key, so that key must be a KV reference: SigV4 cannot run
// in Vault Transit (Transit has no "HMAC with the output of an HMAC as the key").
type awsParams struct {
	AccessKeyID       textParam `json:"access_key_id"`     // literal, var:NAME or secret:NAME
	SecretAccessKey   string    `json:"secret_access_key"` // secret name (KV)
	SessionToken      string    `json:"session_token"`     // optional secret name (KV)
	Region            string    `json:"region"`
	Service           string    `json:"service"`
	SignContentSHA256 bool      `json:"sign_content_sha256"` // send and sign X-Amz-Content-Sha256
	UnsignedPayload   bool      `json:"unsigned_payload"`    // hash "UNSIGNED-PAYLOAD"; the body is not read
	UnsignedHeaders   []string  `json:"unsigned_headers"`    // extra header names left out of the signature
}

type awsStep struct {
	p        awsParams
	keyID    plainValue
	unsigned map[string]bool
	key      atomic.Pointer[awsSigningKey] // the last day's signing key
}

var _ Step = (*awsStep)(nil)

// awsUnsignedHeaders are never signed: hop-by-hop headers, and headers Envoy or the transport
// may set or change after keygate signed (a signature over them would break in flight).
var awsUnsignedHeaders = []string{
	"authorization", "connection", "content-length", "expect", "keep-alive", "proxy-authorization",
	"te", "trailer", "transfer-encoding", "upgrade", "user-agent", "x-amzn-trace-id", "x-request-id",
}

func newAWSSigV4(b Build) (Step, error) {
	var p awsParams
	if err := decodeParams(b, &p); err != nil {
		return nil, err
	}
	id, err := parsePlainValue(b, "access_key_id", p.AccessKeyID, true, true)
	if err != nil {
		return nil, err
	}
	if err := requireParamSecret(b, "secret_access_key", p.SecretAccessKey, true); err != nil {
		return nil, err
	}
	if p.SessionToken != "" {
		if err := requireParamSecret(b, "session_token", p.SessionToken, true); err != nil {
			return nil, err
		}
	}
	if p.Region == "" {
		return nil, paramError(b, "region", "required, e.g. us-east-1")
	}
	if p.Service == "" {
		return nil, paramError(b, "service", "required, e.g. execute-api")
	}
	s := &awsStep{p: p, keyID: id, unsigned: map[string]bool{}}
	for _, h := range append(awsUnsignedHeaders, p.UnsignedHeaders...) {
		s.unsigned[strings.ToLower(h)] = true
	}
	return s, nil
}

func (s *awsStep) Needs() Needs { return Needs{RequestBody: !s.p.UnsignedPayload} }

func (s *awsStep) SignRequest(ctx context.Context, x *Exchange) error {
	r := x.Request
	amzDate := r.Header.Get("X-Amz-Date")
	if amzDate == "" {
		amzDate = x.Clock.Now().UTC().Format(amzDateFormat)
		r.Header.Set("X-Amz-Date", amzDate)
	} else if _, err := time.Parse(amzDateFormat, amzDate); err != nil {
		return failure.New(failure.BadRequest, "sign", "X-Amz-Date %q is not in the form 20060102T150405Z", amzDate)
	}
	if s.p.SessionToken != "" {
		tok, err := x.Keys.Secret(ctx, x, s.p.SessionToken)
		if err != nil {
			return err
		}
		r.Header.Set("X-Amz-Security-Token", string(tok.Reveal()))
	}
	payload := "UNSIGNED-PAYLOAD"
	if !s.p.UnsignedPayload {
		sum := sha256.Sum256(r.Body())
		payload = hex.EncodeToString(sum[:])
	}
	if s.p.SignContentSHA256 {
		r.Header.Set("X-Amz-Content-Sha256", payload)
	}
	// The canonical request and the string to sign are built in buffers on the stack and
	// hashed there; strings are made only for an explaining dry run (a dozen allocations
	// per request, profiled).
	var creqBuf [1024]byte
	creq, signedAt, err := s.appendCanonicalRequest(creqBuf[:0], r, payload)
	if err != nil {
		return err
	}
	signed := creq[signedAt.from:signedAt.to]
	var stsBuf [256]byte
	sts := append(stsBuf[:0], "AWS4-HMAC-SHA256\n"...)
	sts = append(sts, amzDate...)
	sts = append(sts, '\n')
	scopeFrom := len(sts)
	sts = append(append(append(append(append(append(sts, amzDate[:8]...), '/'), s.p.Region...), '/'), s.p.Service...), "/aws4_request"...)
	scope := sts[scopeFrom:]
	sts = append(sts, '\n')
	sum := sha256.Sum256(creq)
	sts = hex.AppendEncode(sts, sum[:])
	scope = sts[scopeFrom : scopeFrom+len(scope)] // sts may have moved
	if x.Explain != nil {
		x.Explained("aws_sigv4", "canonical request", func() string { return string(creq) })
		x.Explained("aws_sigv4", "string to sign", func() string { return string(sts) })
	}

	secret, err := x.Keys.Secret(ctx, x, s.p.SecretAccessKey)
	if err != nil {
		return err
	}
	m := hmac.New(sha256.New, s.signingKey(secret.Reveal(), amzDate[:8]))
	m.Write(sts)
	var mac [sha256.Size]byte
	m.Sum(mac[:0])

	keyID, err := s.keyID.resolve(ctx, x)
	if err != nil {
		return err
	}
	const (
		credential = "AWS4-HMAC-SHA256 Credential="
		headers    = ", SignedHeaders="
		signature  = ", Signature="
	)
	var auth strings.Builder
	auth.Grow(len(credential) + len(keyID) + 1 + len(scope) + len(headers) + len(signed) + len(signature) + 2*len(mac))
	auth.WriteString(credential)
	auth.WriteString(keyID)
	auth.WriteByte('/')
	auth.Write(scope)
	auth.WriteString(headers)
	auth.Write(signed)
	auth.WriteString(signature)
	var sigHex [2 * sha256.Size]byte
	hex.Encode(sigHex[:], mac[:])
	auth.Write(sigHex[:])
	r.Header.Set("Authorization", auth.String())
	return nil
}

// awsSigningKey is a step's derived signing key for one day and secret: AWS's four chained
// HMACs are computed once per day and key, not per request (SDKs cache it the same way).
type awsSigningKey struct {
	date   string
	secret []byte // compared in constant time; a rotated secret replaces the entry
	key    []byte
}

// signingKey returns the SigV4 signing key of secret for date (YYYYMMDD).
func (s *awsStep) signingKey(secret []byte, date string) []byte {
	if c := s.key.Load(); c != nil && c.date == date && subtle.ConstantTimeCompare(c.secret, secret) == 1 {
		return c.key
	}
	k := awsHMAC(append([]byte("AWS4"), secret...), date)
	k = awsHMAC(k, s.p.Region)
	k = awsHMAC(k, s.p.Service)
	k = awsHMAC(k, "aws4_request")
	s.key.Store(&awsSigningKey{date: date, secret: bytes.Clone(secret), key: k})
	return k
}

// appendCanonicalStart appends the CanonicalRequest's first three lines: method, URI-encoded
// path, canonical query.
func appendCanonicalStart(dst []byte, method, path, query string) []byte {
	dst = append(dst, method...)
	dst = append(dst, '\n')
	dst = appendURIEncode(dst, path, false)
	dst = append(dst, '\n')
	dst = append(dst, query...)
	return append(dst, '\n')
}

func awsHMAC(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

// span is a part of a buffer, by offsets.
type span struct{ from, to int }

// awsHeader is a header to sign: its lower-case name (a span of the names buffer) and its key
// in Request.Header ("" for host).
type awsHeader struct {
	name span
	key  string
}

// appendCanonicalRequest appends AWS's CanonicalRequest to dst and returns it with where its
// SignedHeaders list lies in it.
func (s *awsStep) appendCanonicalRequest(dst []byte, r *Request, payload string) ([]byte, span, error) {
	query, err := awsCanonicalQuery(r.RawQuery())
	if err != nil {
		return nil, span{}, failure.Wrap(failure.BadRequest, "sign", err, "query")
	}
	path := r.PathOnly()
	if path == "" {
		path = "/"
	}
	if s.p.Service == "s3" { // S3 signs the path encoded once; every other service twice
		if p, err := url.PathUnescape(path); err == nil {
			path = p
		}
	}
	// Names are lower-cased into one buffer and sorted as spans of it: no string per header.
	var nameBuf [512]byte
	var headerBuf [16]awsHeader
	names := append(nameBuf[:0], "host"...)
	hdrs := append(headerBuf[:0], awsHeader{name: span{0, 4}})
	for k := range r.Header {
		from := len(names)
		names = appendLower(names, k)
		lk := names[from:]
		if s.unsigned[string(lk)] || bytes.HasPrefix(lk, []byte("x-envoy-")) || bytes.HasPrefix(lk, []byte("x-forwarded-")) || string(lk) == "host" {
			names = names[:from]
			continue
		}
		hdrs = append(hdrs, awsHeader{name: span{from, len(names)}, key: k})
	}
	slices.SortFunc(hdrs, func(a, b awsHeader) int {
		return bytes.Compare(names[a.name.from:a.name.to], names[b.name.from:b.name.to])
	})
	dst = appendCanonicalStart(dst, r.Method, path, query)
	for i, h := range hdrs {
		if i > 0 && bytes.Equal(names[h.name.from:h.name.to], names[hdrs[i-1].name.from:hdrs[i-1].name.to]) {
			// Two keys of one name (set past http.Header's canonical form): one line, as the
			// name's values were always read from one of them.
			return s.appendCanonicalRequestSlow(dst[:0], r, path, query, payload)
		}
		dst = append(dst, names[h.name.from:h.name.to]...)
		dst = append(dst, ':')
		if h.key == "" {
			dst = append(dst, r.Authority...)
		} else {
			for j, v := range r.Header[h.key] {
				if j > 0 {
					dst = append(dst, ',')
				}
				dst = appendAWSTrimmed(dst, v)
			}
		}
		dst = append(dst, '\n')
	}
	dst = append(dst, '\n')
	signed := span{from: len(dst)}
	for i, h := range hdrs {
		if i > 0 {
			dst = append(dst, ';')
		}
		dst = append(dst, names[h.name.from:h.name.to]...)
	}
	signed.to = len(dst)
	dst = append(dst, '\n')
	dst = append(dst, payload...)
	return dst, signed, nil
}

// appendCanonicalRequestSlow is the canonical request of the rare request whose header map
// holds one name under two keys: built as before the buffer version (a map of name to value,
// the last key read winning).
func (s *awsStep) appendCanonicalRequestSlow(dst []byte, r *Request, path, query, payload string) ([]byte, span, error) {
	names := []string{"host"}
	values := map[string]string{"host": r.Authority}
	for k, v := range r.Header {
		lk := strings.ToLower(k)
		if s.unsigned[lk] || strings.HasPrefix(lk, "x-envoy-") || strings.HasPrefix(lk, "x-forwarded-") || lk == "host" {
			continue
		}
		names = append(names, lk)
		values[lk] = awsHeaderValue(v)
	}
	sort.Strings(names)
	dst = appendCanonicalStart(dst, r.Method, path, query)
	for _, n := range names {
		dst = append(append(append(append(dst, n...), ':'), values[n]...), '\n')
	}
	dst = append(dst, '\n')
	signed := span{from: len(dst)}
	dst = append(dst, strings.Join(names, ";")...)
	signed.to = len(dst)
	dst = append(dst, '\n')
	dst = append(dst, payload...)
	return dst, signed, nil
}

// awsHeaderValue is a header's values as SigV4 signs them: each trimmed, runs of white space
// one space, joined with commas.
func awsHeaderValue(vals []string) string {
	trimmed := make([]string, len(vals))
	for i, v := range vals {
		trimmed[i] = strings.Join(strings.Fields(v), " ")
	}
	return strings.Join(trimmed, ",")
}

// appendAWSTrimmed appends v as SigV4 signs a header value: strings.Join(strings.Fields(v), " ")
// (trimmed, runs of white space one space). A value of printable ASCII with single inner
// spaces is that already and is copied as is.
func appendAWSTrimmed(dst []byte, v string) []byte {
	ok := len(v) == 0 || v[0] != ' ' && v[len(v)-1] != ' '
	for i := 0; ok && i < len(v); i++ {
		c := v[i]
		ok = c > ' ' && c < 0x7f || c == ' ' && v[i-1] != ' '
	}
	if ok {
		return append(dst, v...)
	}
	return append(dst, strings.Join(strings.Fields(v), " ")...)
}

// appendLower appends strings.ToLower(s): A-Z lower-cased in place for an ASCII name (a
// header name is), through strings.ToLower otherwise.
func appendLower(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return append(dst, strings.ToLower(s)...)
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}

// awsCanonicalQuery decodes each pair, encodes it the AWS way and sorts by key, then value.
func awsCanonicalQuery(raw string) (string, error) {
	if raw == "" {
		return "", nil
	}
	type kv struct{ k, v string }
	var pairs []kv
	for _, p := range strings.Split(raw, "&") {
		if p == "" {
			continue
		}
		k, v, _ := strings.Cut(p, "=")
		uk, err := url.QueryUnescape(k)
		if err != nil {
			return "", err
		}
		uv, err := url.QueryUnescape(v)
		if err != nil {
			return "", err
		}
		pairs = append(pairs, kv{URIEncode(uk, true), URIEncode(uv, true)})
	}
	sort.Slice(pairs, func(i, j int) bool {
		if pairs[i].k != pairs[j].k {
			return pairs[i].k < pairs[j].k
		}
		return pairs[i].v < pairs[j].v
	})
	var b strings.Builder
	for i, p := range pairs {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(p.k)
		b.WriteByte('=')
		b.WriteString(p.v)
	}
	return b.String(), nil
}

// URIEncode percent-encodes every byte but RFC 3986's unreserved characters (and '/' unless
// encodeSlash), hex in upper case: SigV4's UriEncode, and custom mode's url_encode.
func URIEncode(s string, encodeSlash bool) string {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if uriKeeps(c, encodeSlash) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(upperHexDigits[c>>4])
		b.WriteByte(upperHexDigits[c&15])
	}
	return b.String()
}

// appendURIEncode appends URIEncode(s, encodeSlash) to dst.
func appendURIEncode(dst []byte, s string, encodeSlash bool) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; uriKeeps(c, encodeSlash) {
			dst = append(dst, c)
		} else {
			dst = append(dst, '%', upperHexDigits[c>>4], upperHexDigits[c&15])
		}
	}
	return dst
}

const upperHexDigits = "0123456789ABCDEF"

// uriKeeps reports whether URIEncode writes c as is.
func uriKeeps(c byte, encodeSlash bool) bool {
	switch {
	case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '_', c == '.', c == '~':
		return true
	}
	return c == '/' && !encodeSlash
}
