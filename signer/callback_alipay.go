package signer

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/keygate/keygate/internal/failure"
)

// alipay_rsa2_callback verifies Alipay's asynchronous notifications (异步通知, "notify_url"):
// a POST of application/x-www-form-urlencoded parameters signed by Alipay. Alipay's
// documentation (https://opendocs.alipay.com/common/02mse7, "异步通知说明: 验签"; the same
// steps at https://docs.antom.com/ac/web_cn/async) verifies them so:
//  1. every parameter except sign and sign_type is signed;
//  2. the values are URL-decoded, the parameters sorted by name and written name=value,
//     joined by "&" (empty values are left out, as Alipay's SDKs do: AlipaySignString);
//  3. sign is base64 of RSA2 (SHA256withRSA) over that string, with Alipay's public key.
//
// The merchant answers the seven characters "success"; anything else is a failure and Alipay
// sends the notification again (up to 8 times over 25 hours), so "failure" is the refusal.

// alipayCallbackParams configure alipay_rsa2_callback.
type alipayCallbackParams struct {
	// AppID is the merchant's app; a notification for another app is refused even when
	// Alipay signed it (it was meant for someone else's notify_url).
	AppID textParam `json:"app_id"`
	// AlipayPublicKey is Alipay's public key (支付宝公钥) for this app, a secret name or the
	// PEM itself (Alipay shows it as bare base64: wrap it in BEGIN/END PUBLIC KEY lines).
	AlipayPublicKey string `json:"alipay_public_key"`
}

type alipayCallbackStep struct {
	appID     string
	publicKey *publicKeySource
	keyName   string // secret name of publicKey, "" when inline
}

var _ CallbackStep = (*alipayCallbackStep)(nil)

func newAlipayRSA2Callback(b Build) (Step, error) {
	var p alipayCallbackParams
	if err := decodeParams(b, &p); err != nil {
		return nil, err
	}
	id, err := parsePlainValue(b, "app_id", p.AppID, true, false)
	if err != nil {
		return nil, err
	}
	if p.AlipayPublicKey == "" {
		return nil, paramError(b, "alipay_public_key", "required: Alipay's public key, which signs the notifications")
	}
	src, err := newPublicKeySource(b, "alipay_public_key", p.AlipayPublicKey)
	if err != nil {
		return nil, err
	}
	return &alipayCallbackStep{appID: id.text, publicKey: src, keyName: src.secret}, nil
}

func (s *alipayCallbackStep) Needs() Needs { return Needs{RequestBody: true} }

// Refusal is Alipay's failure answer: any body but "success" makes Alipay retry later.
func (s *alipayCallbackStep) Refusal(err error) *Response {
	return &Response{Status: failure.Status(err), Header: map[string][]string{"Content-Type": {"text/plain; charset=utf-8"}}, Body: []byte("failure")}
}

func (s *alipayCallbackStep) SignRequest(ctx context.Context, x *Exchange) error {
	r := x.Request
	if r.Method != http.MethodPost {
		return callbackFailure(failure.BadRequest, "Alipay notifications are POST, not %s", printable(r.Method))
	}
	// Alipay's notify_url takes no parameters of its own: a query would reach the service
	// unverified beside the verified form.
	if r.RawQuery() != "" {
		return callbackFailure(failure.BadRequest, "Alipay notification with a query string: only the signed form is accepted")
	}
	if ct := r.Header.Values("Content-Type"); len(ct) != 1 {
		return callbackFailure(failure.BadRequest, "Alipay notification has %d Content-Type headers, want one form type", len(ct))
	} else if mt, params, err := mime.ParseMediaType(ct[0]); err != nil || mt != "application/x-www-form-urlencoded" {
		return callbackFailure(failure.BadRequest, "Alipay notification is not application/x-www-form-urlencoded")
	} else if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		return callbackFailure(failure.BadRequest, "Alipay notification charset %q: only utf-8 is supported", printable(cs))
	}
	form, err := alipayNotifyForm(r.Body())
	if err != nil {
		return err
	}
	sigText, ok := form["sign"]
	if !ok || sigText == "" {
		return callbackFailure(failure.Unauthenticated, "Alipay notification without sign")
	}
	if form["sign_type"] != "RSA2" {
		return callbackFailure(failure.Unauthenticated, "Alipay notification sign_type %q is not RSA2", printable(form["sign_type"]))
	}
	if cs, ok := form["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		return callbackFailure(failure.BadRequest, "Alipay notification charset %q: only utf-8 is supported", printable(cs))
	}
	sig, err := base64.StdEncoding.DecodeString(sigText)
	if err != nil {
		return callbackFailure(failure.Unauthenticated, "Alipay notification sign is not base64")
	}
	key, err := s.publicKey.get(ctx, x)
	if err != nil {
		return err
	}
	pub, ok := key.(*rsa.PublicKey)
	if !ok {
		return callbackFailure(failure.Internal, "Alipay public key %s is not an RSA key", s.publicKey.describe())
	}
	signedParams := url.Values{}
	for k, v := range form {
		if k != "sign" && k != "sign_type" && v != "" {
			signedParams.Set(k, v)
		}
	}
	sum := sha256.Sum256([]byte(AlipaySignString(signedParams)))
	if rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig) != nil {
		return callbackFailure(failure.Unauthenticated, "Alipay notification sign does not verify with %s", s.publicKey.describe())
	}
	// Checked after the signature, so that the app_id compared is one Alipay wrote.
	if signedParams.Get("app_id") != s.appID {
		return callbackFailure(failure.Forbidden, "Alipay notification is for app_id %s, not this provider's", shape(signedParams.Get("app_id")))
	}
	// The service gets exactly what was signed, as one JSON object of strings.
	out := make(map[string]string, len(signedParams))
	for k := range signedParams {
		out[k] = signedParams.Get(k)
	}
	body, err := json.Marshal(out)
	if err != nil {
		return callbackFailure(failure.Internal, "notification parameters do not encode as JSON")
	}
	r.SetBody(body)
	r.Header.Set("Content-Type", "application/json")
	version := keyVersion(x, s.keyName)
	if s.keyName == "" {
		version = "inline"
	}
	r.Header.Set(CallbackHeader, verifiedBy(x, "alipay_rsa2", "app_id", s.appID, "alipay_public_key_version", version))
	return nil
}

// alipayNotifyForm reads the form: every parameter once, names and values valid UTF-8 (what
// was signed and what the service reads must be the same text).
func alipayNotifyForm(body []byte) (map[string]string, error) {
	vals, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, callbackFailure(failure.BadRequest, "Alipay notification form is not valid form encoding")
	}
	form := make(map[string]string, len(vals))
	for k, v := range vals {
		if len(v) > 1 {
			return nil, callbackFailure(failure.BadRequest, "Alipay notification parameter %q is given %d times", printable(k), len(v))
		}
		if !utf8.ValidString(k) || !utf8.ValidString(v[0]) {
			return nil, callbackFailure(failure.BadRequest, "Alipay notification parameter %q is not valid UTF-8", printable(k))
		}
		if !alipayName(k) {
			return nil, callbackFailure(failure.BadRequest, "Alipay notification parameter name %q is not letters, digits and _", printable(k))
		}
		if foldsAParameter(v[0]) {
			return nil, callbackFailure(failure.BadRequest, "Alipay notification parameter %q holds \"&name=\": the signed string would not say where it ends", printable(k))
		}
		form[k] = v[0]
	}
	return form, nil
}

// alipayName: Alipay's parameter names are snake_case words.
func alipayName(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		if c := k[i]; !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// foldsAParameter reports whether v holds "&name=": the sign string joins decoded values with
// "&", so such a value signs the same as two parameters, and a parameter folded into the value
// of the one sorted before it would vanish from what the service reads with the signature
// intact. Alipay's values do not hold it (passback_params is URL-encoded by the merchant).
func foldsAParameter(v string) bool {
	for i := strings.IndexByte(v, '&'); i >= 0; {
		rest := v[i+1:]
		end := strings.IndexByte(rest, '=')
		if end > 0 && alipayName(rest[:end]) {
			return true
		}
		next := strings.IndexByte(rest, '&')
		if next < 0 {
			return false
		}
		i += 1 + next
	}
	return false
}
