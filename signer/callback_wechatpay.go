package signer

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/keygate/keygate/internal/failure"
	"github.com/keygate/keygate/internal/jsonbody"
)

// wechatCallbackParams configure wechatpay_v3_callback: WeChat Pay's notifications (payment
// and refund results), verified with the platform keys and decrypted with the APIv3 key.
type wechatCallbackParams struct {
	// The platform keys, as for wechatpay_v3's response verification: platform_keys lists
	// several during a rotation (WeChat Pay names the one it used in Wechatpay-Serial).
	PlatformPublicKey string              `json:"platform_public_key"`
	PlatformSerial    string              `json:"platform_serial"`
	PlatformKeys      []wechatPlatformKey `json:"platform_keys"`
	APIv3Key          string              `json:"apiv3_key"` // secret name (KV), 32 bytes
	// MaxSkew is how far Wechatpay-Timestamp may be from now; default 5m (WeChat Pay's rule).
	MaxSkew string `json:"max_skew"`
	// ReplayCapacity bounds the remembered callbacks (the nonce check); default 100000.
	ReplayCapacity int `json:"replay_capacity"`
}

type wechatCallbackStep struct {
	platform        map[string]*publicKeySource
	platformSerials []string
	apiv3           string
	skew            time.Duration
	guard           *replayGuard
}

var _ CallbackStep = (*wechatCallbackStep)(nil)

// wechatCallbackHeaders are the headers of WeChat Pay's signature, dropped before the service
// sees the request: it trusts CallbackHeader, not them.
var wechatCallbackHeaders = []string{"Wechatpay-Serial", "Wechatpay-Signature", "Wechatpay-Timestamp",
	"Wechatpay-Nonce", "Wechatpay-Signature-Type"}

func newWechatPayV3Callback(b Build) (Step, error) {
	var p wechatCallbackParams
	if err := decodeParams(b, &p); err != nil {
		return nil, err
	}
	// One parser of platform keys: wechatpay_v3's.
	w := &wechatStep{p: wechatParams{PlatformPublicKey: p.PlatformPublicKey, PlatformSerial: p.PlatformSerial, PlatformKeys: p.PlatformKeys}}
	if err := w.compilePlatformKeys(b); err != nil {
		return nil, err
	}
	if len(w.platform) == 0 {
		return nil, paramError(b, "platform_keys", "required: the platform keys WeChat Pay signs callbacks with")
	}
	if err := requireParamSecret(b, "apiv3_key", p.APIv3Key, true); err != nil {
		return nil, err
	}
	s := &wechatCallbackStep{platform: w.platform, platformSerials: w.platformSerials, apiv3: p.APIv3Key, skew: wechatMaxSkew}
	if p.MaxSkew != "" {
		d, err := time.ParseDuration(p.MaxSkew)
		if err != nil || d <= 0 || d > time.Hour {
			return nil, paramError(b, "max_skew", "%q is not a duration from 1s to 1h", p.MaxSkew)
		}
		s.skew = d
	}
	capacity := p.ReplayCapacity
	switch {
	case capacity == 0:
		capacity = 100000
	case capacity < 0 || capacity > 10000000:
		return nil, paramError(b, "replay_capacity", "must be from 1 to 10000000")
	}
	// The window is both sides of now: a timestamp up to skew ahead stays valid for 2*skew.
	s.guard = sharedReplayGuard(b.Provider, "wechatpay_v3_callback", 2*s.skew, capacity)
	return s, nil
}

func (s *wechatCallbackStep) Needs() Needs { return Needs{RequestBody: true} }

// Refusal is WeChat Pay's documented failure answer: a 4XX/5XX status with
// {"code":"FAIL","message":...}; WeChat Pay then re-sends the notification later.
func (s *wechatCallbackStep) Refusal(err error) *Response {
	return jsonRefusal(failure.Status(err), map[string]string{"code": "FAIL", "message": failure.KindOf(err).String()})
}

func (s *wechatCallbackStep) SignRequest(ctx context.Context, x *Exchange) error {
	r := x.Request
	if r.Method != http.MethodPost {
		return callbackFailure(failure.BadRequest, "WeChat Pay callbacks are POST, not %s", printable(r.Method))
	}
	var h [5]string
	for i, name := range wechatCallbackHeaders[:4] {
		v, err := singleHeader(r, name)
		if err != nil {
			return err
		}
		h[i] = v
	}
	serial, sigText, ts, nonce := h[0], h[1], h[2], h[3]
	if t := r.Header.Values("Wechatpay-Signature-Type"); len(t) > 1 || len(t) == 1 && t[0] != wechatAuthScheme {
		return callbackFailure(failure.Unauthenticated, "Wechatpay-Signature-Type is not %s", wechatAuthScheme)
	}
	platform, ok := s.platform[serial]
	if !ok {
		return callbackFailure(failure.Unauthenticated, "callback is signed by platform key %q, not one of the configured %q", printable(serial), s.platformSerials)
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || ts != strconv.FormatInt(sec, 10) {
		return callbackFailure(failure.Unauthenticated, "Wechatpay-Timestamp %q is not unix seconds", printable(ts))
	}
	now := x.Clock.Now()
	if skew := now.Unix() - sec; math.Abs(float64(skew)) > s.skew.Seconds() {
		return callbackFailure(failure.Unauthenticated, "Wechatpay-Timestamp is %ds away from now (limit %s)", skew, s.skew)
	}
	sig, err := base64.StdEncoding.DecodeString(sigText)
	if err != nil {
		return callbackFailure(failure.Unauthenticated, "Wechatpay-Signature is not base64")
	}
	key, err := platform.get(ctx, x)
	if err != nil {
		return err
	}
	pub, ok := key.(*rsa.PublicKey)
	if !ok {
		return callbackFailure(failure.Internal, "platform key %s is not an RSA key", platform.describe())
	}
	body := r.Body()
	sum := sha256.Sum256(wechatMessage(ts, nonce, body))
	if rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig) != nil {
		return callbackFailure(failure.Unauthenticated, "Wechatpay-Signature does not verify with platform key %q", printable(serial))
	}
	// Only a verified callback is remembered: forgeries cannot fill the guard. Its identity is
	// the signature as verified, not as spelled: base64 text has spellings the decoder maps to
	// the same bytes (the unused bits before "=", CR and LF), each a replay of one callback.
	idSum := sha256.Sum256([]byte(ts + "\n" + nonce + "\n" + string(sig)))
	switch s.guard.check(string(idSum[:]), time.Unix(sec, 0), now) {
	case replayed:
		return callbackFailure(failure.Forbidden, "callback with this timestamp, nonce and signature was already delivered")
	case replayFull:
		return callbackFailure(failure.Unavailable, "too many callbacks inside the timestamp window to check for replays")
	}
	plain, err := s.decrypt(ctx, x, body)
	if err != nil {
		return err
	}
	for _, name := range wechatCallbackHeaders {
		r.Header.Del(name)
	}
	r.SetBody(plain)
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set(CallbackHeader, verifiedBy(x, "wechatpay_v3", "platform_serial", serial, "apiv3_key_version", keyVersion(x, s.apiv3)))
	return nil
}

// decrypt replaces the notification's resource with its plaintext JSON.
func (s *wechatCallbackStep) decrypt(ctx context.Context, x *Exchange, body []byte) ([]byte, error) {
	obj, err := jsonbody.Parse(body)
	if err != nil {
		return nil, callbackFailure(failure.BadRequest, "callback body is not a JSON object")
	}
	raw, ok := obj.Raw("resource")
	if !ok {
		return nil, callbackFailure(failure.BadRequest, "callback has no resource")
	}
	var res wechatResource
	if err := json.Unmarshal(raw, &res); err != nil {
		return nil, callbackFailure(failure.BadRequest, "resource is not an object")
	}
	if res.Algorithm != "AEAD_AES_256_GCM" {
		return nil, callbackFailure(failure.BadRequest, "resource algorithm %q is not AEAD_AES_256_GCM", printable(res.Algorithm))
	}
	key, err := x.Keys.Secret(ctx, x, s.apiv3)
	if err != nil {
		return nil, err
	}
	plain, err := openWechatResource(key.Reveal(), res)
	if err != nil {
		return nil, callbackFailure(failure.BadRequest, "resource does not decrypt with the APIv3 key")
	}
	if !json.Valid(plain) {
		return nil, callbackFailure(failure.BadRequest, "decrypted resource is not JSON")
	}
	setDecrypted(obj, "resource", plain)
	return obj.Marshal(), nil
}
