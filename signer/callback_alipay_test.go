package signer

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"testing"

	"github.com/keygate/keygate/internal/failure"
)

// alipayNotification signs v as Alipay does (AlipaySignString without sign_type) and returns
// the form body with sign and sign_type.
func alipayNotification(t *testing.T, key *rsa.PrivateKey, v url.Values) string {
	sum := sha256.Sum256([]byte(AlipaySignString(v)))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	out := url.Values{}
	for k, vals := range v {
		out[k] = vals
	}
	out.Set("sign", base64.StdEncoding.EncodeToString(sig))
	out.Set("sign_type", "RSA2")
	return out.Encode()
}

func notifyRequest(body string) *Request {
	h := http.Header{}
	h.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	return NewRequest("POST", "https", "alipay-notify.example.com", "/", h, []byte(body))
}

// TestAlipayCallbackNamesTheKeyVersion: X-Keygate-Callback names the app and the KV version
// of Alipay's public key that verified the notification ("inline" for a key in the config),
// and the body the service gets is the signed parameters as JSON, nothing else.
func TestAlipayCallbackNamesTheKeyVersion(t *testing.T) {
	key := testKeys()["rsa"].(*rsa.PrivateKey)
	secrets := map[string]string{"alipay": "secret/p#alipay"}
	store := &memStore{vals: map[string]string{"secret/p#alipay": pemOf(t, key, "public")}, version: 7}
	v := url.Values{"app_id": {"2015102700040153"}, "out_trade_no": {"1"}, "trade_status": {"TRADE_SUCCESS"}, "empty": {""}}
	inline, _ := json.Marshal(map[string]string{"app_id": "2015102700040153", "alipay_public_key": pemOf(t, key, "public")})
	for _, tc := range []struct{ params, version string }{
		{"{app_id: '2015102700040153', alipay_public_key: alipay}", "7"},
		{string(inline), "inline"},
	} {
		step := mustStep(t, "alipay_rsa2_callback", tc.params, secrets, nil)
		r := notifyRequest(alipayNotification(t, key, v))
		x := exchange(t, store, secrets, r)
		x.Provider = "alipay-notify"
		if err := step.SignRequest(context.Background(), x); err != nil {
			t.Fatalf("%s: %v", tc.params, err)
		}
		want := "provider=alipay-notify; scheme=alipay_rsa2; app_id=2015102700040153; alipay_public_key_version=" + tc.version
		if got := r.Header.Get(CallbackHeader); got != want {
			t.Errorf("%s = %q, want %q", CallbackHeader, got, want)
		}
		if got := string(r.Body()); got != `{"app_id":"2015102700040153","out_trade_no":"1","trade_status":"TRADE_SUCCESS"}` {
			t.Errorf("delivered %s, want the signed parameters only", got)
		}
		if r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("Content-Type %q", r.Header.Get("Content-Type"))
		}
	}
}

// TestAlipayCallbackRefusal: the refusal is Alipay's failure answer, plain "failure" with the
// failure's status, whatever the error; it never carries the error's text.
func TestAlipayCallbackRefusal(t *testing.T) {
	secrets := map[string]string{"alipay": "secret/p#alipay"}
	step := mustStep(t, "alipay_rsa2_callback", "{app_id: '1', alipay_public_key: alipay}", secrets, nil).(CallbackStep)
	for _, err := range []error{
		failure.New(failure.Unauthenticated, "callback", "sign does not verify with secret/p#alipay"),
		failure.New(failure.Unavailable, "keystore", "vault down"),
		errors.New("plain"),
	} {
		r := step.Refusal(err)
		if string(r.Body) != "failure" || r.Status != failure.Status(err) || r.Status < 400 {
			t.Errorf("%v: refusal %d %q, want %d failure", err, r.Status, r.Body, failure.Status(err))
		}
	}
}

// TestAlipayValueFoldsAParameter: a value holding "&name=" could be two parameters in the sign
// string (refused); "&" alone, or followed by something that is not a name, could not.
func TestAlipayValueFoldsAParameter(t *testing.T) {
	for v, want := range map[string]bool{
		"A&B":                 false,
		"A & B = C":           false,
		"x&=y":                false,
		"a&b c=d":             false,
		"100%&":               false,
		"":                    false,
		"X&trade_status=PAID": true,
		"A&B=":                true,
		"a&&b=c":              true,
		"a&x y&b=c":           true,
		"大乐透&subject2=x":      true,
	} {
		if got := foldsAParameter(v); got != want {
			t.Errorf("foldsAParameter(%q) = %v, want %v", v, got, want)
		}
	}
}
