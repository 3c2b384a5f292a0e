package signer

import (
	"context"
	"net/http"
	"testing"

	"github.com/keygate/keygate/internal/failure"
)

// TestWechatPayVerifiesEvery2xx: verification is on when a platform key is set (docs/schemes.md),
// and then covers every 2xx status, 299 included; below 200 and from 300 on, WeChat Pay does not
// sign every answer and it passes as is. Without a platform key nothing is verified.
func TestWechatPayVerifiesEvery2xx(t *testing.T) {
	key := testKeys()["rsa"]
	secrets := map[string]string{"pk": "secret/p#pk", "plat": "secret/p#plat"}
	store := &memStore{vals: map[string]string{"secret/p#pk": pemOf(t, key, "pkcs8"), "secret/p#plat": pemOf(t, key, "public")}}
	verifying := "{mchid: 1900009191, serial_no: S1, private_key: pk, platform_public_key: plat, platform_serial: P1}"
	plain := "{mchid: 1900009191, serial_no: S1, private_key: pk}"
	for _, tt := range []struct {
		params string
		status int
		refuse bool
	}{
		{verifying, 200, true}, {verifying, 299, true}, {verifying, 199, false}, {verifying, 300, false},
		{plain, 200, false}, {plain, 299, false},
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
