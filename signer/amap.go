package signer

import (
	"context"
	"crypto/md5" //nolint:gosec // Amap's web-service signature is specified as MD5
	"encoding/hex"
	"mime"
	"net/url"
	"sort"
	"strings"

	"github.com/keygate/keygate/internal/failure"
)

// amapParams configure Amap (高德) web-service digital signatures: sig = md5(sorted k=v&... +
// private key). The private key is appended to the hashed text, so it must be KV.
type amapParams struct {
	PrivateKey string    `json:"private_key"` // secret name (KV): the signature's private key
	Key        textParam `json:"key"`         // optional: the web-service key, added as key= when the request has none
}

type amapStep struct {
	p   amapParams
	key plainValue
}

var _ Step = (*amapStep)(nil)

func newAmap(b Build) (Step, error) {
	var p amapParams
	if err := decodeParams(b, &p); err != nil {
		return nil, err
	}
	if err := requireParamSecret(b, "private_key", p.PrivateKey, true); err != nil {
		return nil, err
	}
	key, err := parsePlainValue(b, "key", p.Key, false, true)
	if err != nil {
		return nil, err
	}
	return &amapStep{p: p, key: key}, nil
}

func (s *amapStep) Needs() Needs { return Needs{RequestBody: true} }

func (s *amapStep) SignRequest(ctx context.Context, x *Exchange) error {
	r := x.Request
	form := isForm(r)
	raw := r.RawQuery()
	if form {
		raw = string(r.Body())
	}
	raw = removeParam(raw, "sig")
	if s.key != (plainValue{}) {
		query, err := queryPairs(r.RawQuery())
		if err != nil {
			return err
		}
		body := [][2]string{}
		if form {
			if body, err = queryPairs(raw); err != nil {
				return err
			}
		}
		if !hasParam(query, "key") && !hasParam(body, "key") {
			k, err := s.key.resolve(ctx, x)
			if err != nil {
				return err
			}
			raw = appendParam(raw, "key", k)
			if s.key.secret != "" {
				x.MarkSensitive(url.QueryEscape(k))
			}
		}
	}
	pairs, err := queryPairs(raw)
	if err != nil {
		return err
	}
	if form { // the query's parameters are request parameters too
		q, err := queryPairs(removeParam(r.RawQuery(), "sig"))
		if err != nil {
			return err
		}
		pairs = append(pairs, q...)
	}
	sum, err := s.sig(ctx, x, pairs)
	if err != nil {
		return err
	}
	raw = appendParam(raw, "sig", sum)
	if form {
		r.SetBody([]byte(raw))
		return nil
	}
	r.SetRawQuery(raw)
	return nil
}

// sig is md5 over the decoded parameters sorted by name, k=v joined by "&", with the private
// key appended directly (Amap's example: md5("a=23&b=12&c=67&d=48&f=8" + "bbbbb")).
func (s *amapStep) sig(ctx context.Context, x *Exchange, pairs [][2]string) (string, error) {
	sort.SliceStable(pairs, func(i, j int) bool { return pairs[i][0] < pairs[j][0] })
	for i := 1; i < len(pairs); i++ {
		if pairs[i][0] == pairs[i-1][0] {
			return "", failure.New(failure.BadRequest, "sign", "parameter %s appears more than once", pairs[i][0])
		}
	}
	var b strings.Builder
	for i, p := range pairs {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(p[0])
		b.WriteByte('=')
		b.WriteString(p[1])
	}
	pk, err := x.Keys.Secret(ctx, x, s.p.PrivateKey)
	if err != nil {
		return "", err
	}
	h := md5.New() //nolint:gosec // specified by the provider
	h.Write([]byte(b.String()))
	h.Write(pk.Reveal())
	return hex.EncodeToString(h.Sum(nil)), nil
}

// isForm reports whether the request's parameters travel in an x-www-form-urlencoded body.
func isForm(r *Request) bool {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return mt == "application/x-www-form-urlencoded"
}

// removeParam drops every pair named name from a raw query, keeping the others as written.
func removeParam(raw, name string) string {
	var kept []string
	for _, pair := range strings.Split(raw, "&") {
		if pair == "" {
			continue
		}
		k, _, _ := strings.Cut(pair, "=")
		if uk, err := url.QueryUnescape(k); err == nil && uk == name {
			continue
		}
		kept = append(kept, pair)
	}
	return strings.Join(kept, "&")
}

// appendParam adds name=value (form-encoded) at the end of a raw query.
func appendParam(raw, name, value string) string {
	p := url.QueryEscape(name) + "=" + url.QueryEscape(value)
	if raw == "" {
		return p
	}
	return raw + "&" + p
}

func hasParam(pairs [][2]string, name string) bool {
	for _, p := range pairs {
		if p[0] == name {
			return true
		}
	}
	return false
}
