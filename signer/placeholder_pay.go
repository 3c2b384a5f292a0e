package signer

import (
	"context"
	"encoding/json"
	"mime"
	"net/url"
	"strings"

	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/internal/failure"
)

// alipay_rsa2_sdk and wechatpay_v3_sdk are alipay_rsa2 and wechatpay_v3 for requests an official
// SDK already signed with the placeholder identity: the same parameters plus "placeholder".
// They check the identity, strip the SDK's signature and run the scheme itself, so there is
// one signer per scheme.

// placeholderParam takes the "placeholder" key out of a step's parameters, so that the wrapped
// scheme decodes the rest strictly.
func placeholderParam(b Build) (Build, string, error) {
	var m map[string]json.RawMessage
	if len(b.Params) > 0 {
		if err := json.Unmarshal(b.Params, &m); err != nil {
			return b, "", config.Errorf(b.Path, "%v", err)
		}
	}
	ph := DefaultPlaceholder
	if raw, ok := m["placeholder"]; ok {
		var t textParam
		if err := json.Unmarshal(raw, &t); err != nil || t == "" {
			return b, "", paramError(b, "placeholder", "want a non-empty string")
		}
		ph = string(t)
		delete(m, "placeholder")
	}
	out, err := json.Marshal(m)
	if err != nil {
		return b, "", config.Errorf(b.Path, "%v", err)
	}
	b.Params = out
	return b, ph, nil
}

// --- Alipay ---

type alipaySDKStep struct {
	*alipayStep
	placeholder string
}

func newAlipayRSA2SDK(b Build) (Step, error) {
	inner, ph, err := placeholderParam(b)
	if err != nil {
		return nil, err
	}
	st, err := newAlipayRSA2(inner)
	if err != nil {
		return nil, err
	}
	a := st.(*alipayStep)
	if isPlaceholder(a.appID, ph) {
		return nil, paramError(b, "app_id", "is the placeholder itself")
	}
	if a.p.In == "query" {
		return nil, paramError(b, "in", "query: SDK requests carry their parameters in the form body too; use auto or form")
	}
	return &alipaySDKStep{alipayStep: a, placeholder: ph}, nil
}

func (s *alipaySDKStep) Needs() Needs { return Needs{RequestBody: true} }

// SignRequest: an SDK-signed request (it has sign) must name the placeholder app_id. Alipay
// SDKs put the common parameters in the query and biz_content in the form; Alipay's gateway
// reads both, and the signature covers both, so keygate moves them into one form and signs it.
func (s *alipaySDKStep) SignRequest(ctx context.Context, x *Exchange) error {
	r := x.Request
	query, err := url.ParseQuery(r.RawQuery())
	if err != nil {
		return failure.Wrap(failure.BadRequest, placeholderStage, err, "alipay query is not valid form encoding")
	}
	form := url.Values{}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	isForm := mt == "application/x-www-form-urlencoded" || (len(r.Body()) > 0 && mt == "")
	if isForm {
		if form, err = url.ParseQuery(string(r.Body())); err != nil {
			return failure.Wrap(failure.BadRequest, placeholderStage, err, "alipay form is not valid form encoding")
		}
	} else if len(r.Body()) > 0 {
		return failure.New(failure.BadRequest, placeholderStage, "alipay request body of type %q: SDK requests send a form (application/x-www-form-urlencoded)", mt)
	}
	for k, v := range query {
		if _, both := form[k]; both || len(v) > 1 {
			return failure.New(failure.BadRequest, placeholderStage, "alipay parameter %q is given more than once (query and form)", k)
		}
		form[k] = v
	}
	for k, v := range form {
		if len(v) > 1 {
			return failure.New(failure.BadRequest, placeholderStage, "alipay parameter %q is given %d times", k, len(v))
		}
	}
	if _, signed := form["sign"]; signed {
		if id := form.Get("app_id"); !isPlaceholder(id, s.placeholder) {
			return realCredential("alipay app_id "+shape(id), "a request the SDK signed")
		}
	} else if id, ok := form["app_id"]; ok && !isPlaceholder(id[0], s.placeholder) && id[0] != s.appID {
		return failure.New(failure.Forbidden, placeholderStage, "alipay app_id %s is neither the placeholder nor this provider's", shape(id[0]))
	}
	form.Del("sign")
	form.Del("sign_type")
	form.Del("app_id")
	r.SetRawQuery("")
	r.SetBody([]byte(form.Encode()))
	if !isForm {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded;charset="+s.p.Charset)
	}
	return s.alipayStep.SignRequest(ctx, x)
}

// --- WeChat Pay ---

type wechatSDKStep struct {
	*wechatStep
	placeholder string
}

var _ ResponseStep = (*wechatSDKStep)(nil)

func newWechatPayV3SDK(b Build) (Step, error) {
	inner, ph, err := placeholderParam(b)
	if err != nil {
		return nil, err
	}
	st, err := newWechatPayV3(inner)
	if err != nil {
		return nil, err
	}
	w := st.(*wechatStep)
	if isPlaceholder(w.serialNo, ph) {
		return nil, paramError(b, "serial_no", "is the placeholder itself")
	}
	return &wechatSDKStep{wechatStep: w, placeholder: ph}, nil
}

const wechatAuthScheme = "WECHATPAY2-SHA256-RSA2048"

// SignRequest: the SDK's Authorization must name the placeholder merchant certificate serial
// (the SDK needs a private key to sign; a throwaway one does) and this provider's mchid.
func (s *wechatSDKStep) SignRequest(ctx context.Context, x *Exchange) error {
	r := x.Request
	auth := r.Header.Values("Authorization")
	switch len(auth) {
	case 0:
	case 1:
		f, err := parseWechatAuthorization(auth[0])
		if err != nil {
			return err
		}
		if !isPlaceholder(f["serial_no"], s.placeholder) {
			return realCredential("WeChat Pay certificate serial "+shape(f["serial_no"]), "Authorization")
		}
		if f["mchid"] != s.mchid {
			return failure.New(failure.Forbidden, placeholderStage, "WeChat Pay mchid %s is not this provider's merchant", shape(f["mchid"]))
		}
	default:
		return failure.New(failure.BadRequest, placeholderStage, "Authorization is given %d times", len(auth))
	}
	r.Header.Del("Authorization")
	return s.wechatStep.SignRequest(ctx, x)
}

// parseWechatAuthorization reads `WECHATPAY2-SHA256-RSA2048 k="v",...`; another scheme is a
// credential keygate did not issue.
func parseWechatAuthorization(v string) (map[string]string, error) {
	scheme, rest, _ := strings.Cut(strings.TrimSpace(v), " ")
	if scheme != wechatAuthScheme {
		return nil, realCredential("an Authorization header of scheme "+shape(scheme), "Authorization")
	}
	f := map[string]string{}
	for _, part := range strings.Split(rest, ",") {
		k, val, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok || len(val) < 2 || val[0] != '"' || val[len(val)-1] != '"' {
			return nil, failure.New(failure.BadRequest, placeholderStage, "WeChat Pay Authorization field %q is not key=\"value\"", printable(k))
		}
		if _, dup := f[k]; dup {
			return nil, failure.New(failure.BadRequest, placeholderStage, "WeChat Pay Authorization has %s twice", printable(k))
		}
		f[k] = val[1 : len(val)-1]
	}
	for _, k := range []string{"mchid", "serial_no", "signature"} {
		if f[k] == "" {
			return nil, failure.New(failure.BadRequest, placeholderStage, "WeChat Pay Authorization without %s", k)
		}
	}
	return f, nil
}
