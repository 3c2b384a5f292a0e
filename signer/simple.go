package signer

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strings"

	"github.com/keygate/keygate/internal/failure"
)

// simpleParams are the article's simple signing: AppKey into the body, then
// sign = hex(sha256(SortedSignString(body) + AppSecret)).
type simpleParams struct {
	AppKey      textParam `json:"app_key"`    // literal or var:NAME
	AppSecret   string    `json:"app_secret"` // secret name
	AppKeyField string    `json:"app_key_field"`
	SignField   string    `json:"sign_field"`
	Case        string    `json:"case"` // upper | lower
}

type simpleStep struct {
	p      simpleParams
	appKey string
}

var _ Step = (*simpleStep)(nil)

func newSimple(b Build) (Step, error) {
	var p simpleParams
	if err := decodeParams(b, &p); err != nil {
		return nil, err
	}
	key, err := parsePlainValue(b, "app_key", p.AppKey, true, false)
	if err != nil {
		return nil, err
	}
	if err := requireParamSecret(b, "app_secret", p.AppSecret, true); err != nil {
		return nil, err
	}
	if p.AppKeyField == "" {
		p.AppKeyField = "appKey"
	}
	if p.SignField == "" {
		p.SignField = "sign"
	}
	if err := oneOf(b, "case", &p.Case, "upper", "lower"); err != nil {
		return nil, err
	}
	return &simpleStep{p: p, appKey: key.text}, nil
}

func (s *simpleStep) Needs() Needs { return Needs{RequestBody: true} }

func (s *simpleStep) SignRequest(ctx context.Context, x *Exchange) error {
	obj, err := x.Request.JSON()
	if err != nil {
		return failure.Wrap(failure.BadRequest, "sign", err, "simple signing needs a JSON object body")
	}
	obj.SetString(s.p.AppKeyField, s.appKey)
	obj.Delete(s.p.SignField) // a sign the caller sent is never part of what is signed
	secret, err := x.Keys.Secret(ctx, x, s.p.AppSecret)
	if err != nil {
		return err
	}
	h := sha256.New()
	signStr := appendSortedSignString(nil, obj) // one copy of the body's text, not three
	x.Explained("simple", "string to sign (then the secret "+s.p.AppSecret+" appended, sha256)", func() string { return string(signStr) })
	h.Write(signStr)
	h.Write(secret.Reveal())
	sign := hex.EncodeToString(h.Sum(nil))
	if s.p.Case == "upper" {
		sign = strings.ToUpper(sign)
	}
	obj.SetString(s.p.SignField, sign)
	x.Request.MarkJSONChanged()
	return nil
}
