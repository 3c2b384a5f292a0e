package signer

import (
	"context"
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/keygate/keygate/internal/failure"
)

func TestAlipayRSA2(t *testing.T) {
	key := testKeys()["rsa"].(*rsa.PrivateKey)
	secrets := map[string]string{"pk": "secret/p#pk"}
	store := &memStore{vals: map[string]string{"secret/p#pk": pemOf(t, key, "pkcs1")}}
	form := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
	tests := []struct {
		name, params string
		r            *Request
		wantErr      failure.Kind
	}{
		{"form body", "{app_id: 2014072300007148, private_key: pk, method: alipay.trade.query}",
			NewRequest("POST", "https", "openapi.alipay.com", "/gateway.do", form.Clone(), []byte("biz_content=%7B%22out_trade_no%22%3A%2220150320010101001%22%7D&empty=&sign=old")), 0},
		{"query", "{app_id: '2014072300007148', private_key: pk, in: query}",
			NewRequest("GET", "https", "openapi.alipay.com", "/gateway.do?method=alipay.trade.query&biz_content=x+y", nil, nil), 0},
		{"bad form", "{app_id: 1, private_key: pk, in: form}",
			NewRequest("POST", "https", "h", "/", form.Clone(), []byte("a=%zz")), failure.BadRequest},
		{"repeated parameter", "{app_id: 1, private_key: pk, in: form}",
			NewRequest("POST", "https", "h", "/", form.Clone(), []byte("a=1&a=2")), failure.BadRequest},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := mustStep(t, "alipay_rsa2", tc.params, secrets, nil).SignRequest(context.Background(), exchange(t, store, secrets, tc.r))
			if tc.wantErr != 0 {
				wantKind(t, err, tc.wantErr, "sign")
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			raw := tc.r.RawQuery()
			if tc.r.Method == "POST" {
				raw = string(tc.r.Body())
			}
			v, err := url.ParseQuery(raw)
			if err != nil {
				t.Fatal(err)
			}
			if v.Get("app_id") != "2014072300007148" || v.Get("sign_type") != "RSA2" || v.Get("charset") != "utf-8" ||
				v.Get("version") != "1.0" || v.Get("method") != "alipay.trade.query" || v.Get("timestamp") != "2024-01-02 11:04:05" {
				t.Fatalf("common parameters wrong: %v", v)
			}
			sig, _ := base64.StdEncoding.DecodeString(v.Get("sign"))
			if !verify(key.Public(), []byte(AlipaySignString(v)), sig) {
				t.Fatal("sign does not verify over the sorted parameter string")
			}
			if strings.Contains(AlipaySignString(v), "empty=") || strings.Contains(AlipaySignString(v), "sign=") {
				t.Fatalf("sign string keeps empty values or sign: %s", AlipaySignString(v))
			}
		})
	}
}

// wechatResponse signs a response as the WeChat Pay platform would.
func wechatResponse(t *testing.T, ts int64, serial, body string) *Response {
	return wechatResponseWith(t, testKeys()["rsa"].(*rsa.PrivateKey), ts, serial, body)
}

func wechatResponseWith(t *testing.T, key *rsa.PrivateKey, ts int64, serial, body string) *Response {
	tsText := strconv.FormatInt(ts, 10)
	sum := sha256.Sum256([]byte(tsText + "\nrn\n" + body + "\n"))
	sig, _ := rsa.SignPKCS1v15(nil, key, crypto.SHA256, sum[:])
	h := http.Header{}
	h.Set("Wechatpay-Serial", serial)
	h.Set("Wechatpay-Timestamp", tsText)
	h.Set("Wechatpay-Nonce", "rn")
	h.Set("Wechatpay-Signature", base64.StdEncoding.EncodeToString(sig))
	return &Response{Status: 200, Header: h, Body: []byte(body)}
}

func TestWechatPayResponse(t *testing.T) {
	key := testKeys()["rsa"]
	apiv3 := "0123456789abcdef0123456789abcdef"
	block, _ := aes.NewCipher([]byte(apiv3))
	g, _ := cipher.NewGCM(block)
	ct := base64.StdEncoding.EncodeToString(g.Seal(nil, []byte("nonce1234567"), []byte(`{"id":"x"}`), []byte("certificate")))
	resource := `{"resource":{"algorithm":"AEAD_AES_256_GCM","ciphertext":"` + ct + `","nonce":"nonce1234567","associated_data":"certificate"}}`
	secrets := map[string]string{"pk": "secret/p#pk", "plat": "secret/p#plat", "v3": "secret/p#v3"}
	store := &memStore{vals: map[string]string{"secret/p#pk": pemOf(t, key, "pkcs8"), "secret/p#plat": pemOf(t, key, "public"), "secret/p#v3": apiv3}}
	params := "{mchid: 1900009191, serial_no: S1, private_key: pk, platform_public_key: plat, platform_serial: P1, apiv3_key: v3, decrypt_resource: true}"
	now := pinned.Unix()
	tests := []struct {
		name     string
		resp     *Response
		kind     failure.Kind
		wantBody string
	}{
		{"verified and decrypted", wechatResponse(t, now, "P1", resource), 0, `{"resource":{"id":"x"}}`},
		{"verified, no resource", wechatResponse(t, now-299, "P1", `{"ok":true}`), 0, `{"ok":true}`},
		{"serial mismatch", wechatResponse(t, now, "P2", `{}`), failure.BadGateway, ""},
		{"timestamp exactly 5 minutes old", wechatResponse(t, now-300, "P1", `{"ok":true}`), 0, `{"ok":true}`},
		{"timestamp exactly 5 minutes ahead", wechatResponse(t, now+300, "P1", `{"ok":true}`), 0, `{"ok":true}`},
		{"timestamp too old", wechatResponse(t, now-301, "P1", `{}`), failure.BadGateway, ""},
		{"timestamp in the future", wechatResponse(t, now+400, "P1", `{}`), failure.BadGateway, ""},
		{"body changed", func() *Response { r := wechatResponse(t, now, "P1", `{}`); r.Body = []byte(`{"x":1}`); return r }(), failure.BadGateway, ""},
		{"no signature headers", &Response{Status: 200, Header: http.Header{}, Body: []byte(`{}`)}, failure.BadGateway, ""},
		{"error responses pass", &Response{Status: 400, Header: http.Header{}, Body: []byte(`{"code":"PARAM_ERROR"}`)}, 0, `{"code":"PARAM_ERROR"}`},
		{"bad resource", wechatResponse(t, now, "P1", strings.Replace(resource, "certificate", "other", 1)), failure.BadGateway, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			step := mustStep(t, "wechatpay_v3", params, secrets, nil).(ResponseStep)
			x := exchange(t, store, secrets, NewRequest("GET", "https", "api.mch.weixin.qq.com", "/v3/certificates", nil, nil))
			if err := step.SignRequest(context.Background(), x); err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(x.Request.Header.Get("Authorization"), `WECHATPAY2-SHA256-RSA2048 mchid="1900009191",nonce_str="n0nce",timestamp="1704164645",serial_no="S1",signature="`) {
				t.Fatalf("Authorization %q", x.Request.Header.Get("Authorization"))
			}
			x.Response = tc.resp
			err := step.ProcessResponse(context.Background(), x)
			if tc.kind != 0 {
				wantKind(t, err, tc.kind, "")
				if s := failure.StageOf(err); s != "verify" && s != "decrypt" {
					t.Fatalf("stage %q", s)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(x.Response.Body) != tc.wantBody {
				t.Fatalf("body %s", x.Response.Body)
			}
		})
	}
}

// TestWechatPayPlatformKeyRotation: during WeChat Pay's platform key rotation, responses are
// signed by the old or the new key; with both in platform_keys, each verifies with its own key
// (chosen by Wechatpay-Serial), and a key does not verify what the other signed.
func TestWechatPayPlatformKeyRotation(t *testing.T) {
	oldKey := testKeys()["rsa"].(*rsa.PrivateKey)
	newKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	secrets := map[string]string{"pk": "secret/p#pk", "old": "secret/p#old", "new": "secret/p#new"}
	store := &memStore{vals: map[string]string{"secret/p#pk": pemOf(t, oldKey, "pkcs8"),
		"secret/p#old": pemOf(t, oldKey, "public"), "secret/p#new": pemOf(t, newKey, "public")}}
	params := "{mchid: 1900009191, serial_no: S1, private_key: pk, platform_keys: " +
		"[{serial: OLD, public_key: old}, {serial: PUB_KEY_ID_NEW, public_key: new}]}"
	step := mustStep(t, "wechatpay_v3", params, secrets, nil).(ResponseStep)
	now := pinned.Unix()
	for _, tc := range []struct {
		name string
		resp *Response
		ok   bool
	}{
		{"old key, old serial", wechatResponseWith(t, oldKey, now, "OLD", `{"a":1}`), true},
		{"new key, new serial", wechatResponseWith(t, newKey, now, "PUB_KEY_ID_NEW", `{"a":1}`), true},
		{"new key, old serial", wechatResponseWith(t, newKey, now, "OLD", `{"a":1}`), false},
		{"old key, new serial", wechatResponseWith(t, oldKey, now, "PUB_KEY_ID_NEW", `{"a":1}`), false},
		{"unknown serial", wechatResponseWith(t, oldKey, now, "OTHER", `{"a":1}`), false},
	} {
		x := exchange(t, store, secrets, NewRequest("GET", "https", "api.mch.weixin.qq.com", "/v3/x", nil, nil))
		x.Response = tc.resp
		err := step.ProcessResponse(context.Background(), x)
		if tc.ok && err != nil {
			t.Errorf("%s: %v", tc.name, err)
		}
		if !tc.ok {
			wantKind(t, err, failure.BadGateway, "verify")
		}
	}
}

func TestAWSSigV4Options(t *testing.T) {
	secrets := map[string]string{"sk": "secret/aws#sk", "tok": "secret/aws#tok", "id": "secret/aws#id"}
	store := &memStore{vals: map[string]string{"secret/aws#sk": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "secret/aws#tok": "TOKEN", "secret/aws#id": "AKIDEXAMPLE"}}
	h := http.Header{"Content-Type": {"application/json"}, "User-Agent": {"x"}, "X-Custom": {"  a   b  "}}
	r := NewRequest("POST", "https", "example.amazonaws.com", "/a%20b/c?z=1&a=%2F&a=0", h, []byte(`{}`))
	step := mustStep(t, "aws_sigv4", "{access_key_id: 'secret:id', secret_access_key: sk, session_token: tok, region: us-east-1, service: service, sign_content_sha256: true, unsigned_headers: [x-custom]}", secrets, nil)
	x := exchange(t, store, secrets, r)
	x.Clock = FixedClock(time.Date(2015, 8, 30, 12, 36, 0, 0, time.UTC), "")
	if err := step.SignRequest(context.Background(), x); err != nil {
		t.Fatal(err)
	}
	auth := r.Header.Get("Authorization")
	if !strings.Contains(auth, "Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request") ||
		!strings.Contains(auth, "SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date;x-amz-security-token,") {
		t.Fatalf("Authorization %s", auth)
	}
	if r.Header.Get("X-Amz-Security-Token") != "TOKEN" || r.Header.Get("X-Amz-Date") != "20150830T123600Z" {
		t.Fatal("session token or date header not set")
	}
	creqBytes, _, _ := step.(*awsStep).appendCanonicalRequest(nil, r, "UNSIGNED-PAYLOAD")
	if creq, want := string(creqBytes), "POST\n/a%2520b/c\na=%2F&a=0&z=1\n"; !strings.HasPrefix(creq, want) {
		t.Fatalf("canonical request starts %q, want %q", creq, want)
	}
	bad := NewRequest("GET", "https", "h", "/", http.Header{"X-Amz-Date": {"yesterday"}}, nil)
	wantKind(t, step.SignRequest(context.Background(), exchange(t, store, secrets, bad)), failure.BadRequest, "sign")
	badQuery := NewRequest("GET", "https", "h", "/?a=%zz", nil, nil)
	wantKind(t, step.SignRequest(context.Background(), exchange(t, store, secrets, badQuery)), failure.BadRequest, "sign")
}
