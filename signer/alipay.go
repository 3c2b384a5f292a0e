package signer

import (
	"context"
	"encoding/base64"
	"mime"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/keygate/keygate/internal/failure"
)

// alipayZone is Beijing time, which Alipay's timestamp parameter is written in.
var alipayZone = time.FixedZone("CST", 8*3600)

// alipayParams configure Alipay OpenAPI RSA2 signing of form parameters.
type alipayParams struct {
	AppID      textParam `json:"app_id"`      // literal or var:NAME
	PrivateKey string    `json:"private_key"` // secret name (KV PEM or transit RSA key)
	Method     string    `json:"method"`      // default API method when the request has none
	Charset    string    `json:"charset"`     // default utf-8
	Version    string    `json:"version"`     // default 1.0
	In         string    `json:"in"`          // auto | form | query
}

type alipayStep struct {
	p     alipayParams
	appID string
}

var _ Step = (*alipayStep)(nil)

func newAlipayRSA2(b Build) (Step, error) {
	var p alipayParams
	if err := decodeParams(b, &p); err != nil {
		return nil, err
	}
	id, err := parsePlainValue(b, "app_id", p.AppID, true, false)
	if err != nil {
		return nil, err
	}
	if err := requireParamSecret(b, "private_key", p.PrivateKey, false); err != nil {
		return nil, err
	}
	if p.Charset == "" {
		p.Charset = "utf-8"
	}
	if p.Version == "" {
		p.Version = "1.0"
	}
	if err := oneOf(b, "in", &p.In, "auto", "form", "query"); err != nil {
		return nil, err
	}
	return &alipayStep{p: p, appID: id.text}, nil
}

func (s *alipayStep) Needs() Needs { return Needs{RequestBody: s.p.In != "query"} }

// usesForm reports whether the parameters travel in a form body rather than the query.
func (s *alipayStep) usesForm(r *Request) bool {
	switch s.p.In {
	case "form":
		return true
	case "query":
		return false
	}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return mt == "application/x-www-form-urlencoded" || (len(r.Body()) > 0 && mt == "")
}

func (s *alipayStep) SignRequest(ctx context.Context, x *Exchange) error {
	r := x.Request
	form := s.usesForm(r)
	raw := r.RawQuery()
	if form {
		raw = string(r.Body())
	}
	vals, err := url.ParseQuery(raw)
	if err != nil {
		return failure.Wrap(failure.BadRequest, "sign", err, "alipay parameters are not valid form encoding")
	}
	for k, v := range vals {
		if len(v) > 1 {
			return failure.New(failure.BadRequest, "sign", "alipay parameter %q is given %d times", k, len(v))
		}
	}
	vals.Del("sign")
	vals.Set("app_id", s.appID)
	vals.Set("sign_type", "RSA2")
	setDefault(vals, "method", s.p.Method)
	setDefault(vals, "charset", s.p.Charset)
	setDefault(vals, "version", s.p.Version)
	setDefault(vals, "timestamp", x.Clock.Now().In(alipayZone).Format("2006-01-02 15:04:05"))
	sig, err := x.Keys.Sign(ctx, x, s.p.PrivateKey, "sha256", []byte(AlipaySignString(vals)))
	if err != nil {
		return err
	}
	vals.Set("sign", base64.StdEncoding.EncodeToString(sig))
	if form {
		r.SetBody([]byte(vals.Encode()))
		if r.Header.Get("Content-Type") == "" {
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded;charset="+vals.Get("charset"))
		}
		return nil
	}
	r.SetRawQuery(vals.Encode())
	return nil
}

func setDefault(v url.Values, key, def string) {
	if def != "" && v.Get(key) == "" {
		v.Set(key, def)
	}
}

// AlipaySignString is Alipay's RSA2 string to sign: every parameter except sign with a
// non-empty value, sorted by key, as key=value with the values unencoded, joined by "&".
func AlipaySignString(v url.Values) string {
	keys := make([]string, 0, len(v))
	for k := range v {
		if k != "sign" && v.Get(k) != "" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(v.Get(k))
	}
	return b.String()
}
