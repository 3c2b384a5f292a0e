package signer

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"

	"github.com/keygate/keygate/internal/failure"
)

const (
	fakeSign    = "RkFLRS1TSUdOQVRVUkUtRlJPTS1USEUtU0RL" // what the SDK signed with its throwaway key
	realLooking = "2021004123456789"                     // an app_id / serial a service should not hold
)

func payPlaceholderStore(t *testing.T) (*rsa.PrivateKey, map[string]string, *memStore) {
	key := testKeys()["rsa"].(*rsa.PrivateKey)
	secrets := map[string]string{"pk": "secret/p#pk", "plat": "secret/p#plat"}
	store := &memStore{vals: map[string]string{"secret/p#pk": pemOf(t, key, "pkcs8"), "secret/p#plat": pemOf(t, key, "public")}}
	return key, secrets, store
}

// verifyPKCS1 checks an RSA-SHA256 signature written independently of the signer's code.
func verifyPKCS1(t *testing.T, key *rsa.PrivateKey, msg, sigB64 string) {
	t.Helper()
	sig, err := base64.StdEncoding.DecodeString(sigB64)
	if err != nil {
		t.Fatalf("signature %q is not base64", sigB64)
	}
	sum := sha256.Sum256([]byte(msg))
	if rsa.VerifyPKCS1v15(&key.PublicKey, crypto.SHA256, sum[:], sig) != nil {
		t.Fatalf("signature does not verify with the real key over %q", msg)
	}
}

// alipaySDKRequest is a request as Alipay's SDKs send it: the common parameters, signed with
// the placeholder app_id, in the query and biz_content in the form.
func alipaySDKRequest(appID string, extraQuery string) *Request {
	q := url.Values{"app_id": {appID}, "method": {"alipay.trade.query"}, "charset": {"utf-8"},
		"sign_type": {"RSA2"}, "timestamp": {"2024-01-02 11:04:05"}, "version": {"1.0"},
		"notify_url": {"https://shop.example/notify"}, "sign": {fakeSign}}
	h := http.Header{}
	h.Set("Content-Type", "application/x-www-form-urlencoded;charset=utf-8")
	raw := q.Encode()
	if extraQuery != "" {
		raw += "&" + extraQuery
	}
	return NewRequest("POST", "https", "openapi.alipay.com", "/gateway.do?"+raw, h,
		[]byte("biz_content="+url.QueryEscape(`{"out_trade_no":"20150320010101001"}`)))
}

// TestAlipaySDKStripsEveryPartOfTheFakeSignature: the SDK's sign, sign_type and placeholder
// app_id are gone from query and form; what remains is one form signed with the real app_id
// and key (verified here over Alipay's documented string), with every parameter the SDK chose.
func TestAlipaySDKStripsEveryPartOfTheFakeSignature(t *testing.T) {
	key, secrets, store := payPlaceholderStore(t)
	step := mustStep(t, "alipay_rsa2_sdk", "{app_id: '2014072300007148', private_key: pk}", secrets, nil)
	r := alipaySDKRequest(DefaultPlaceholder, "")
	if err := step.SignRequest(context.Background(), exchange(t, store, secrets, r)); err != nil {
		t.Fatal(err)
	}
	if r.RawQuery() != "" {
		t.Errorf("query left: %q (the SDK's parameters move into the signed form)", r.RawQuery())
	}
	all := r.Header.Get("Content-Type") + string(r.Body())
	for _, part := range []string{DefaultPlaceholder, fakeSign} {
		if strings.Contains(all, part) || strings.Contains(all, url.QueryEscape(part)) {
			t.Errorf("the SDK's %q survived: %s", part, all)
		}
	}
	form, err := url.ParseQuery(string(r.Body()))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range form {
		if len(v) != 1 {
			t.Errorf("%s given %d times", k, len(v))
		}
	}
	want := map[string]string{"app_id": "2014072300007148", "sign_type": "RSA2", "method": "alipay.trade.query",
		"timestamp": "2024-01-02 11:04:05", "notify_url": "https://shop.example/notify", "charset": "utf-8", "version": "1.0",
		"biz_content": `{"out_trade_no":"20150320010101001"}`}
	for k, v := range want {
		if form.Get(k) != v {
			t.Errorf("%s = %q, want %q", k, form.Get(k), v)
		}
	}
	var kv []string
	for k := range form {
		if k != "sign" {
			kv = append(kv, k+"="+form.Get(k))
		}
	}
	sort.Strings(kv)
	verifyPKCS1(t, key, strings.Join(kv, "&"), form.Get("sign"))
}

// TestAlipaySDKRefusesARealCredential: a signed request under any app_id but the placeholder
// (a real one, none, a case variant) is refused 403 at stage placeholder, naming its shape only;
// an unsigned request may carry the provider's own app_id (it is replaced) but no other.
func TestAlipaySDKRefusesARealCredential(t *testing.T) {
	_, secrets, store := payPlaceholderStore(t)
	step := mustStep(t, "alipay_rsa2_sdk", "{app_id: '2014072300007148', private_key: pk}", secrets, nil)
	for name, r := range map[string]*Request{
		"real app_id":                 alipaySDKRequest(realLooking, ""),
		"the provider's own app_id":   alipaySDKRequest("2014072300007148", ""),
		"placeholder in another case": alipaySDKRequest(strings.ToLower(DefaultPlaceholder), ""),
		"placeholder with a space":    alipaySDKRequest(DefaultPlaceholder+" ", ""),
		"empty app_id":                alipaySDKRequest("", ""),
		"unsigned, another app_id": NewRequest("POST", "https", "openapi.alipay.com", "/gateway.do", http.Header{"Content-Type": {"application/x-www-form-urlencoded"}},
			[]byte("app_id="+realLooking+"&method=alipay.trade.query")),
	} {
		err := step.SignRequest(context.Background(), exchange(t, store, secrets, r))
		if failure.KindOf(err) != failure.Forbidden || failure.StageOf(err) != placeholderStage {
			t.Errorf("%s: %v, want 403 at stage placeholder", name, err)
			continue
		}
		if strings.Contains(err.Error(), realLooking) {
			t.Errorf("%s: the refusal echoes the credential: %v", name, err)
		}
	}
	dup := map[string]*Request{
		"app_id in query and form": alipaySDKRequest(DefaultPlaceholder, ""),
		"sign twice":               alipaySDKRequest(DefaultPlaceholder, "sign=AAAA"),
		"app_id twice":             alipaySDKRequest(DefaultPlaceholder, "app_id="+realLooking),
	}
	dup["app_id in query and form"].SetBody([]byte("app_id=" + realLooking + "&biz_content=x"))
	for name, r := range dup {
		err := step.SignRequest(context.Background(), exchange(t, store, secrets, r))
		if failure.KindOf(err) != failure.BadRequest {
			t.Errorf("%s: %v, want 400 (which one was signed would be a guess)", name, err)
		}
	}
	// Unsigned with the provider's own app_id: signed as usual.
	r := NewRequest("POST", "https", "openapi.alipay.com", "/gateway.do", http.Header{"Content-Type": {"application/x-www-form-urlencoded"}},
		[]byte("app_id=2014072300007148&method=alipay.trade.query"))
	if err := step.SignRequest(context.Background(), exchange(t, store, secrets, r)); err != nil {
		t.Errorf("unsigned request with the provider's app_id: %v", err)
	}
}

const wechatSDKParams = "{mchid: '1900009191', serial_no: S1, private_key: pk, platform_public_key: plat, platform_serial: P1}"

func wechatSDKAuthorization(fields string) *Request {
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	if fields != "" {
		h.Set("Authorization", fields)
	}
	return NewRequest("POST", "https", "api.mch.weixin.qq.com", "/v3/pay/transactions/jsapi", h, []byte(`{"appid":"wxd678efh567hg6787"}`))
}

func placeholderAuth(serial, mchid string) string {
	return `WECHATPAY2-SHA256-RSA2048 mchid="` + mchid + `",nonce_str="SDKNONCE",timestamp="1554208460",serial_no="` +
		serial + `",signature="` + fakeSign + `"`
}

// TestWechatSDKStripsEveryPartOfTheFakeSignature: the SDK's Authorization (placeholder serial,
// its nonce, timestamp and signature) is replaced by one signed with the real serial and key,
// verified here over WeChat Pay's documented message.
func TestWechatSDKStripsEveryPartOfTheFakeSignature(t *testing.T) {
	key, secrets, store := payPlaceholderStore(t)
	step := mustStep(t, "wechatpay_v3_sdk", wechatSDKParams, secrets, nil)
	r := wechatSDKAuthorization(placeholderAuth(DefaultPlaceholder, "1900009191"))
	if err := step.SignRequest(context.Background(), exchange(t, store, secrets, r)); err != nil {
		t.Fatal(err)
	}
	auth := r.Header.Values("Authorization")
	if len(auth) != 1 {
		t.Fatalf("%d Authorization headers", len(auth))
	}
	for _, part := range []string{DefaultPlaceholder, fakeSign, "SDKNONCE", "1554208460"} {
		for name, vals := range r.Header {
			for _, v := range vals {
				if strings.Contains(v, part) {
					t.Errorf("the SDK's %q survived in %s: %s", part, name, v)
				}
			}
		}
	}
	f, err := parseWechatAuthorization(auth[0])
	if err != nil {
		t.Fatal(err)
	}
	if f["serial_no"] != "S1" || f["mchid"] != "1900009191" {
		t.Errorf("re-signed under %q/%q, want S1/1900009191", f["serial_no"], f["mchid"])
	}
	msg := "POST\n/v3/pay/transactions/jsapi\n" + f["timestamp"] + "\n" + f["nonce_str"] + "\n" + `{"appid":"wxd678efh567hg6787"}` + "\n"
	verifyPKCS1(t, key, msg, f["signature"])
}

// TestWechatSDKRefusesARealCredential: another serial (a real merchant certificate), another
// scheme (a credential keygate did not issue), another mchid are 403 at stage placeholder,
// naming shapes only; malformed or repeated Authorization is 400.
func TestWechatSDKRefusesARealCredential(t *testing.T) {
	_, secrets, store := payPlaceholderStore(t)
	step := mustStep(t, "wechatpay_v3_sdk", wechatSDKParams, secrets, nil)
	for name, auth := range map[string]string{
		"real serial":                 placeholderAuth(realLooking, "1900009191"),
		"the provider's own serial":   placeholderAuth("S1", "1900009191"),
		"placeholder in another case": placeholderAuth(strings.ToLower(DefaultPlaceholder), "1900009191"),
		"another merchant":            placeholderAuth(DefaultPlaceholder, realLooking),
		"another scheme":              "Bearer " + realLooking,
		"SM2 scheme":                  strings.Replace(placeholderAuth(DefaultPlaceholder, "1900009191"), "WECHATPAY2-SHA256-RSA2048", "WECHATPAY2-SM2-WITH-SM3", 1),
	} {
		err := step.SignRequest(context.Background(), exchange(t, store, secrets, wechatSDKAuthorization(auth)))
		if failure.KindOf(err) != failure.Forbidden || failure.StageOf(err) != placeholderStage {
			t.Errorf("%s: %v, want 403 at stage placeholder", name, err)
			continue
		}
		if strings.Contains(err.Error(), realLooking) {
			t.Errorf("%s: the refusal echoes the credential: %v", name, err)
		}
	}
	for name, auth := range map[string]string{
		"no serial":       `WECHATPAY2-SHA256-RSA2048 mchid="1900009191",signature="x"`,
		"serial twice":    placeholderAuth(DefaultPlaceholder, "1900009191") + `,serial_no="` + realLooking + `"`,
		"unquoted fields": `WECHATPAY2-SHA256-RSA2048 mchid=1900009191,serial_no=KEYGATE-PLACEHOLDER,signature=x`,
	} {
		err := step.SignRequest(context.Background(), exchange(t, store, secrets, wechatSDKAuthorization(auth)))
		if failure.KindOf(err) != failure.BadRequest {
			t.Errorf("%s: %v, want 400", name, err)
		}
	}
	r := wechatSDKAuthorization(placeholderAuth(DefaultPlaceholder, "1900009191"))
	r.Header.Add("Authorization", placeholderAuth(realLooking, "1900009191"))
	if err := step.SignRequest(context.Background(), exchange(t, store, secrets, r)); failure.KindOf(err) != failure.BadRequest {
		t.Errorf("two Authorization headers: %v, want 400", err)
	}
	// A request without an SDK signature is signed as wechatpay_v3 would.
	if err := step.SignRequest(context.Background(), exchange(t, store, secrets, wechatSDKAuthorization(""))); err != nil {
		t.Errorf("unsigned request: %v", err)
	}
}

// TestPlaceholderSchemesRefuseThePlaceholderAsTheRealIdentity: a config whose real app_id or
// serial is the placeholder would re-sign SDK requests with the placeholder itself.
func TestPlaceholderSchemesRefuseThePlaceholderAsTheRealIdentity(t *testing.T) {
	_, secrets, _ := payPlaceholderStore(t)
	for scheme, params := range map[string]string{
		"alipay_rsa2_sdk":  "{app_id: KEYGATE-PLACEHOLDER, private_key: pk}",
		"wechatpay_v3_sdk": "{mchid: '1900009191', serial_no: KEYGATE-PLACEHOLDER, private_key: pk, platform_public_key: plat, platform_serial: P1}",
	} {
		if _, err := buildStep(t, scheme, params, secrets, nil); err == nil || !strings.Contains(err.Error(), "is the placeholder itself") {
			t.Errorf("%s: %v, want a config error", scheme, err)
		}
	}
}
