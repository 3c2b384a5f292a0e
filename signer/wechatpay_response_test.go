package signer

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/keygate/keygate/internal/failure"
)

// TestWechatPayVerifiesEvery2xx: verification covers every 2xx status, 299 included; below 200
// and from 300 on, WeChat Pay does not sign every answer and it passes as is. A config without a
// platform key is refused (TestWechatPayRequiresPlatformKey): nothing is left unverified.
func TestWechatPayVerifiesEvery2xx(t *testing.T) {
	key := testKeys()["rsa"]
	secrets := map[string]string{"pk": "secret/p#pk", "plat": "secret/p#plat"}
	store := &memStore{vals: map[string]string{"secret/p#pk": pemOf(t, key, "pkcs8"), "secret/p#plat": pemOf(t, key, "public")}}
	verifying := "{mchid: 1900009191, serial_no: S1, private_key: pk, platform_public_key: plat, platform_serial: P1}"
	for _, tt := range []struct {
		params string
		status int
		refuse bool
	}{
		{verifying, 200, true}, {verifying, 299, true}, {verifying, 199, false}, {verifying, 300, false},
	} {
		step := mustStep(t, "wechatpay_v3", tt.params, secrets, nil).(ResponseStep)
		x := exchange(t, store, secrets, NewRequest("GET", "https", "api.mch.weixin.qq.com", "/v3/x", nil, nil))
		if err := step.SignRequest(context.Background(), x); err != nil {
			t.Fatal(err)
		}
		x.Response = &Response{Status: tt.status, Header: http.Header{}, Body: []byte(`{"unsigned":true}`)}
		err := step.ProcessResponse(context.Background(), x)
		if tt.refuse {
			wantKind(t, err, failure.BadGateway, "verify")
		} else if err != nil {
			t.Errorf("status %d, params %s: unsigned answer refused: %v", tt.status, tt.params, err)
		}
	}
}

// TestWechatPayRequiresPlatformKey: wechatpay_v3 and wechatpay_v3_sdk without a platform key
// would pass every answer unverified (fail open); the config is refused instead, naming the
// parameter. The callback scheme has required its keys from the start.
func TestWechatPayRequiresPlatformKey(t *testing.T) {
	secrets := map[string]string{"pk": "secret/p#pk", "v3": "secret/p#v3"}
	for _, tc := range []struct{ scheme, params string }{
		{"wechatpay_v3", "{mchid: 1900009191, serial_no: S1, private_key: pk}"},
		{"wechatpay_v3", "{mchid: 1900009191, serial_no: S1, private_key: pk, apiv3_key: v3, decrypt_resource: true}"},
		{"wechatpay_v3", "{mchid: 1900009191, serial_no: S1, private_key: pk, platform_keys: []}"},
		{"wechatpay_v3_sdk", "{mchid: 1900009191, serial_no: S1, private_key: pk}"},
		{"wechatpay_v3_callback", "{apiv3_key: v3}"},
	} {
		_, err := buildStep(t, tc.scheme, tc.params, secrets, nil)
		if err == nil || !strings.Contains(err.Error(), "platform_") || !strings.Contains(err.Error(), "required") {
			t.Errorf("%s %s: %v, want a config error naming the required platform key", tc.scheme, tc.params, err)
		}
	}
}
