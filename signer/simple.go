package signer

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"

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
	p          simpleParams
	appKeyJSON []byte // the AppKey as the JSON string SetString would write
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
	appKeyJSON, _ := json.Marshal(key.text) // a string always marshals
	return &simpleStep{p: p, appKeyJSON: appKeyJSON}, nil
}

// upperHex upper-cases the letters of hex digits in place (strings.ToUpper, without a copy).
func upperHex(b []byte) {
	for i, c := range b {
		if 'a' <= c && c <= 'f' {
			b[i] = c - ('a' - 'A')
		}
	}
}

func (s *simpleStep) Needs() Needs { return Needs{RequestBody: true} }

func (s *simpleStep) SignRequest(ctx context.Context, x *Exchange) error {
	obj, err := x.Request.JSON()
	if err != nil {
		return failure.Wrap(failure.BadRequest, "sign", err, "simple signing needs a JSON object body")
	}
	obj.SetRaw(s.p.AppKeyField, s.appKeyJSON) // shared by every request: values are only read
	obj.Delete(s.p.SignField)                 // a sign the caller sent is never part of what is signed
	secret, err := x.Keys.Secret(ctx, x, s.p.AppSecret)
	if err != nil {
		return err
	}
	if x.Explain != nil { // the text is built only for an explaining dry run
		x.Explained("simple", "string to sign (then the secret "+s.p.AppSecret+" appended, sha256)", func() string { return SortedSignString(obj) })
	}
	// The body's text is hashed where it lies, not copied.
	sum := sumSortedSignString(obj, secret.Reveal())
	// The sign as its JSON string, built in place: hex needs no escaping.
	sign := make([]byte, 2*sha256.Size+2)
	sign[0], sign[len(sign)-1] = '"', '"'
	hex.Encode(sign[1:len(sign)-1], sum[:])
	if s.p.Case == "upper" {
		upperHex(sign)
	}
	obj.SetRaw(s.p.SignField, sign)
	x.Request.MarkJSONChanged()
	return nil
}
