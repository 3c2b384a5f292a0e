package signer

import (
	"context"
	"net/http"
	"testing"
)

// BenchmarkSchemes reports ns/op and allocs/op of one SignRequest per scheme, steady state
// (keys cached, parsed keys reused). The request is rebuilt each iteration, as per request.
func BenchmarkSchemes(b *testing.B) {
	rsaPEM := pemOf(b, testKeys()["rsa"], "pkcs8")
	ecPEM := pemOf(b, testKeys()["ecdsa"], "pkcs8")
	edPEM := pemOf(b, testKeys()["ed25519"], "pkcs8")
	secrets := map[string]string{"k": "secret/p#k", "iv": "secret/p#iv", "rsa": "secret/p#rsa", "ec": "secret/p#ec", "ed": "secret/p#ed"}
	store := &memStore{vals: map[string]string{"secret/p#k": "0123456789abcdef0123456789abcdef", "secret/p#iv": "fedcba9876543210",
		"secret/p#rsa": rsaPEM, "secret/p#ec": ecPEM, "secret/p#ed": edPEM}}
	form := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
	tests := []struct {
		name, scheme, params string
		req                  func() *Request
	}{
		{"static", "static", "{secret: k, in: bearer}", nil},
		{"simple", "simple", "{app_key: demo, app_secret: k}", nil},
		{"hmac-sha256", "hmac", `{key: k, string_to_sign: '{method}\n{target}\n{timestamp}\n{body_sha256}', name: X-Sig, timestamp_header: X-Ts}`, nil},
		{"rsa-2048", "rsa", `{key: rsa, string_to_sign: '{method}\n{target}\n{body}', name: X-Sig}`, nil},
		{"ecdsa-p256", "rsa", `{key: ec, string_to_sign: '{method}\n{target}\n{body}', name: X-Sig}`, nil},
		{"aes_cbc-field", "aes_cbc", "{key: k, iv: iv, field: data}", nil},
		{"aes_gcm-body", "aes_gcm", "{key: k}", nil},
		{"alipay_rsa2", "alipay_rsa2", "{app_id: '2014072300007148', private_key: rsa}", func() *Request {
			return NewRequest("POST", "https", "openapi.alipay.com", "/gateway.do", form.Clone(), []byte("method=alipay.trade.query&biz_content=%7B%7D"))
		}},
		{"wechatpay_v3", "wechatpay_v3", "{mchid: '1900009191', serial_no: S1, private_key: rsa, platform_public_key: rsa, platform_serial: P1}", nil},
		{"aws_sigv4", "aws_sigv4", "{access_key_id: AKID, secret_access_key: k, region: us-east-1, service: execute-api}", nil},
		{"rfc9421-hmac", "rfc9421", "{key: k, key_id: k1, components: ['@method', '@authority', '@path', content-type]}", nil},
		{"rfc9421-ed25519", "rfc9421", "{key: ed, alg: ed25519, components: ['@method', '@authority', '@path', content-type]}", nil},
		{"tc3", "tc3", "{secret_id: AKID, secret_key: k}", nil},
		{"acs3", "acs3", "{access_key_id: AK, access_key_secret: k}", nil},
		{"aliyun_rpc", "aliyun_rpc", "{access_key_id: AK, access_key_secret: k}", nil},
		{"baidu_bce", "baidu_bce", "{access_key_id: AK, secret_access_key: k}", nil},
		{"huawei_apig", "huawei_apig", "{access_key: AK, secret_key: k}", nil},
		{"volcengine", "volcengine", "{access_key_id: AK, secret_access_key: k, region: cn-north-1, service: iam}", nil},
		{"amap", "amap", "{private_key: k, key: demo}", nil},
		{"baidu_map_sn", "baidu_map_sn", "{sk: k, ak: demo}", nil},
	}
	for _, tc := range tests {
		b.Run(tc.name, func(b *testing.B) {
			step := mustStep(b, tc.scheme, tc.params, secrets, nil)
			keys := NewKeys(store, refsOf(b, secrets))
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				r := jsonRequest(`{"data":"123456","timestamp":"1700000000","amount":100}`)
				if tc.req != nil {
					r = tc.req()
				}
				x := &Exchange{Request: r, Keys: keys, Clock: FixedClock(pinned, "n0nce")}
				if err := step.SignRequest(ctx, x); err != nil {
					b.Fatal(err)
				}
				_ = r.Body()
			}
		})
	}
}
