package signer

import (
	"context"
	"crypto/hmac"
	"crypto/sha1" //nolint:gosec // HMAC-SHA1 is what Alibaba Cloud's RPC signature specifies
	"encoding/base64"
	"mime"
	"sort"
	"strings"

	"github.com/keygate/keygate/internal/failure"
)

// aliyunRPCParams configure Alibaba Cloud's RPC-style signature (SignatureVersion 1.0,
// HMAC-SHA1). The HMAC key is the AccessKey secret followed by "&", so the secret must be KV.
type aliyunRPCParams struct {
	AccessKeyID     textParam `json:"access_key_id"`     // literal, var:NAME or secret:NAME
	AccessKeySecret string    `json:"access_key_secret"` // secret name (KV)
	SecurityToken   string    `json:"security_token"`    // optional secret name -> SecurityToken (STS)
}

type aliyunRPCStep struct {
	p  aliyunRPCParams
	id plainValue
}

var _ Step = (*aliyunRPCStep)(nil)

// aliyunRPCCommon are the parameters keygate sets; a caller's values for them are replaced.
var aliyunRPCCommon = []string{"AccessKeyId", "SignatureMethod", "SignatureVersion", "SignatureNonce", "Timestamp", "SecurityToken", "Signature"}

func newAliyunRPC(b Build) (Step, error) {
	var p aliyunRPCParams
	if err := decodeParams(b, &p); err != nil {
		return nil, err
	}
	id, err := parsePlainValue(b, "access_key_id", p.AccessKeyID, true, true)
	if err != nil {
		return nil, err
	}
	if err := requireParamSecret(b, "access_key_secret", p.AccessKeySecret, true); err != nil {
		return nil, err
	}
	if p.SecurityToken != "" {
		if err := requireParamSecret(b, "security_token", p.SecurityToken, true); err != nil {
			return nil, err
		}
	}
	return &aliyunRPCStep{p: p, id: id}, nil
}

func (s *aliyunRPCStep) Needs() Needs { return Needs{RequestBody: true} }

func (s *aliyunRPCStep) SignRequest(ctx context.Context, x *Exchange) error {
	r := x.Request
	query, err := queryPairs(r.RawQuery())
	if err != nil {
		return err
	}
	query = dropParams(query, aliyunRPCCommon)
	// A form body's parameters are signed with the query's (POST-style RPC calls).
	var form [][2]string
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "application/x-www-form-urlencoded" {
		if form, err = queryPairs(string(r.Body())); err != nil {
			return failure.Wrap(failure.BadRequest, "sign", err, "form body")
		}
		for _, p := range form {
			for _, c := range aliyunRPCCommon {
				if p[0] == c {
					return failure.New(failure.BadRequest, "sign", "form body parameter %s is set by keygate", c)
				}
			}
		}
	}
	id, err := s.id.resolve(ctx, x)
	if err != nil {
		return err
	}
	query = append(query,
		[2]string{"AccessKeyId", id},
		[2]string{"SignatureMethod", "HMAC-SHA1"},
		[2]string{"SignatureVersion", "1.0"},
		[2]string{"SignatureNonce", x.Clock.Nonce()},
		[2]string{"Timestamp", x.Clock.Now().UTC().Format("2006-01-02T15:04:05Z")})
	if s.p.SecurityToken != "" {
		tok, err := x.Keys.Secret(ctx, x, s.p.SecurityToken)
		if err != nil {
			return err
		}
		query = append(query, [2]string{"SecurityToken", string(tok.Reveal())})
		x.MarkSensitive(URIEncode(string(tok.Reveal()), true))
	}
	canonical, err := aliyunCanonicalQuery(append(append([][2]string{}, query...), form...))
	if err != nil {
		return err
	}
	sts := r.Method + "&" + URIEncode("/", true) + "&" + URIEncode(canonical, true)
	secret, err := x.Keys.Secret(ctx, x, s.p.AccessKeySecret)
	if err != nil {
		return err
	}
	m := hmac.New(sha1.New, prefixedSecret("", secret, "&").Reveal())
	m.Write([]byte(sts))
	sig := base64.StdEncoding.EncodeToString(m.Sum(nil))

	out, err := aliyunCanonicalQuery(query)
	if err != nil {
		return err
	}
	r.SetRawQuery(out + "&Signature=" + URIEncode(sig, true))
	return nil
}

// aliyunCanonicalQuery is the pairs percent-encoded (RFC 3986: space %20, * %2A, ~ kept),
// sorted by encoded key, joined with "&". A repeated key is an error: Alibaba's servers and
// SDKs keep one value per name, so which one was signed would be a guess.
func aliyunCanonicalQuery(pairs [][2]string) (string, error) {
	enc := make([][2]string, len(pairs))
	for i, p := range pairs {
		enc[i] = [2]string{URIEncode(p[0], true), URIEncode(p[1], true)}
	}
	sort.Slice(enc, func(i, j int) bool { return enc[i][0] < enc[j][0] })
	var b strings.Builder
	for i, p := range enc {
		if i > 0 {
			if enc[i-1][0] == p[0] {
				return "", failure.New(failure.BadRequest, "sign", "parameter %s appears more than once", p[0])
			}
			b.WriteByte('&')
		}
		b.WriteString(p[0])
		b.WriteByte('=')
		b.WriteString(p[1])
	}
	return b.String(), nil
}

// dropParams removes the pairs named in names.
func dropParams(pairs [][2]string, names []string) [][2]string {
	out := pairs[:0]
outer:
	for _, p := range pairs {
		for _, n := range names {
			if p[0] == n {
				continue outer
			}
		}
		out = append(out, p)
	}
	return out
}
