package signer

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"sort"
	"strings"
	"time"

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
	creq, signed, err := s.canonicalRequest(r, payload)
	if err != nil {
		return err
	}
	scope := amzDate[:8] + "/" + s.p.Region + "/" + s.p.Service + "/aws4_request"
	sum := sha256.Sum256([]byte(creq))
	sts := "AWS4-HMAC-SHA256\n" + amzDate + "\n" + scope + "\n" + hex.EncodeToString(sum[:])
	x.Explained("aws_sigv4", "canonical request", func() string { return creq })
	x.Explained("aws_sigv4", "string to sign", func() string { return sts })

	secret, err := x.Keys.Secret(ctx, x, s.p.SecretAccessKey)
	if err != nil {
		return err
	}
	k := awsHMAC(append([]byte("AWS4"), secret.Reveal()...), amzDate[:8])
	k = awsHMAC(k, s.p.Region)
	k = awsHMAC(k, s.p.Service)
	k = awsHMAC(k, "aws4_request")
	sig := hex.EncodeToString(awsHMAC(k, sts))

	keyID, err := s.keyID.resolve(ctx, x)
	if err != nil {
		return err
	}
	r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+keyID+"/"+scope+
		", SignedHeaders="+signed+", Signature="+sig)
	return nil
}

func awsHMAC(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

// canonicalRequest is AWS's CanonicalRequest and its SignedHeaders list.
func (s *awsStep) canonicalRequest(r *Request, payload string) (string, string, error) {
	query, err := awsCanonicalQuery(r.RawQuery())
	if err != nil {
		return "", "", failure.Wrap(failure.BadRequest, "sign", err, "query")
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
	names := []string{"host"}
	values := map[string]string{"host": r.Authority}
	for k, v := range r.Header {
		lk := strings.ToLower(k)
		if s.unsigned[lk] || strings.HasPrefix(lk, "x-envoy-") || strings.HasPrefix(lk, "x-forwarded-") || lk == "host" {
			continue
		}
		trimmed := make([]string, len(v))
		for i, val := range v {
			trimmed[i] = strings.Join(strings.Fields(val), " ")
		}
		names = append(names, lk)
		values[lk] = strings.Join(trimmed, ",")
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString(r.Method)
	b.WriteByte('\n')
	b.WriteString(URIEncode(path, false))
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
	return b.String(), signed, nil
}

// awsCanonicalQuery decodes each pair, encodes it the AWS way and sorts by key, then value.
func awsCanonicalQuery(raw string) (string, error) {
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
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '_', c == '.', c == '~':
			b.WriteByte(c)
		case c == '/' && !encodeSlash:
			b.WriteByte(c)
		default:
			b.WriteByte('%')
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&15])
		}
	}
	return b.String()
}
