package signer

import (
	"context"
	"crypto/md5" //nolint:gosec // Baidu Map's sn is specified as MD5
	"encoding/hex"
	"net/url"
	"sort"
	"strings"
)

// baiduMapSNParams configure Baidu Map (百度地图) web-service SN checking:
// sn = md5(urlencode(PATH?QUERY + SK)). The SK is inside the encoded, hashed text, so it must be KV.
type baiduMapSNParams struct {
	SK string    `json:"sk"` // secret name (KV)
	AK textParam `json:"ak"` // optional: the application key, added as ak= when the request has none
}

type baiduMapSNStep struct {
	p  baiduMapSNParams
	ak plainValue
}

var _ Step = (*baiduMapSNStep)(nil)

func newBaiduMapSN(b Build) (Step, error) {
	var p baiduMapSNParams
	if err := decodeParams(b, &p); err != nil {
		return nil, err
	}
	if err := requireParamSecret(b, "sk", p.SK, true); err != nil {
		return nil, err
	}
	ak, err := parsePlainValue(b, "ak", p.AK, false, true)
	if err != nil {
		return nil, err
	}
	return &baiduMapSNStep{p: p, ak: ak}, nil
}

func (s *baiduMapSNStep) Needs() Needs { return Needs{RequestBody: true} }

// SignRequest: GET parameters are signed in the order they are sent (Baidu's rule); a POST
// form body is first sorted by parameter name, as Baidu requires for POST, and carries sn.
func (s *baiduMapSNStep) SignRequest(ctx context.Context, x *Exchange) error {
	r := x.Request
	form := isForm(r)
	raw := r.RawQuery()
	if form {
		raw = string(r.Body())
	}
	raw = removeParam(raw, "sn")
	if s.ak != (plainValue{}) {
		pairs, err := queryPairs(raw)
		if err != nil {
			return err
		}
		if !hasParam(pairs, "ak") {
			ak, err := s.ak.resolve(ctx, x)
			if err != nil {
				return err
			}
			raw = appendParam(raw, "ak", ak)
			if s.ak.secret != "" {
				x.MarkSensitive(url.QueryEscape(ak))
			}
		}
	}
	if _, err := queryPairs(raw); err != nil { // reject malformed escapes before signing them
		return err
	}
	if form {
		parts := strings.Split(raw, "&")
		sort.SliceStable(parts, func(i, j int) bool {
			ki, _, _ := strings.Cut(parts[i], "=")
			kj, _, _ := strings.Cut(parts[j], "=")
			return ki < kj
		})
		raw = strings.Join(parts, "&")
	}
	sk, err := x.Keys.Secret(ctx, x, s.p.SK)
	if err != nil {
		return err
	}
	// The parameters exactly as they leave (values already URL-encoded), then the whole text
	// form-encoded once more: the encoding Baidu's examples apply (quote_plus / URLEncoder).
	text := prefixedSecret(r.PathOnly()+"?"+raw, sk, "")
	h := md5.New() //nolint:gosec // specified by the provider
	h.Write([]byte(url.QueryEscape(string(text.Reveal()))))
	raw = appendParam(raw, "sn", hex.EncodeToString(h.Sum(nil)))
	if form {
		r.SetBody([]byte(raw))
		return nil
	}
	r.SetRawQuery(raw)
	return nil
}
