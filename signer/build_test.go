package signer

import (
	"strings"
	"testing"
)

func TestBuildErrors(t *testing.T) {
	secrets := map[string]string{"k": "secret/p#k", "iv": "secret/p#iv", "tk": "transit:transit/h"}
	tests := []struct {
		scheme, params, want string
	}{
		{"static", "{secret: k, in: header, name: X-Key, extra: 1}", `unknown field "extra"`},
		{"static", "{secret: nope, in: bearer}", `signing[0].secret: names no secret declared in the provider's secrets (declared: iv, k, tk)`},
		{"static", "{secret: k, in: cookie}", `signing[0].in: "cookie" is not one of`},
		{"static", "{secret: k, in: header}", "signing[0].name: required"},
		{"static", "{secret: k, in: basic}", "signing[0].username: required"},
		{"static", "{secret: tk, in: bearer}", "is a Transit key"},
		{"simple", "{app_secret: k}", "signing[0].app_key: required"},
		{"simple", "{app_key: var:nokey, app_secret: k}", `var "nokey" is not in the provider's vars`},
		{"simple", "{app_key: a, app_secret: k, case: title}", "signing[0].case"},
		{"aes_cbc", "{key: k}", "signing[0].iv: required"},
		{"aes_cbc", "{key: k, iv: iv, aad: x}", `unknown field "aad"`},
		{"aes_cbc", "{key: tk, iv: iv}", "signing[0].key: secret \"tk\" is a Transit key"},
		{"aes_gcm", "{key: k, encoding: base32}", "signing[0].encoding"},
		{"aes_gcm", "{key: k, key_encoding: utf16}", "signing[0].key_encoding"},
		{"hmac", "{key: k, name: X-Sig}", "signing[0].string_to_sign: required"},
		{"hmac", "{key: k, name: X-Sig, string_to_sign: '{verb}'}", "unknown placeholder {verb}"},
		{"hmac", "{key: k, name: X-Sig, string_to_sign: '{method', hash: sha256}", "unclosed placeholder"},
		{"hmac", "{key: k, name: X-Sig, string_to_sign: x, hash: md5}", "signing[0].hash"},
		{"hmac", "{key: k, string_to_sign: x}", "signing[0].name: required"},
		{"hmac", "{key: k, name: X, string_to_sign: x, value: '{body}'}", "signing[0].value: unknown placeholder"},
		{"rsa", "{key: k, name: X, string_to_sign: x, hash: sha1}", "signing[0].hash"},
		{"alipay_rsa2", "{private_key: k}", "signing[0].app_id: required"},
		{"alipay_rsa2", "{app_id: 1, private_key: k, in: header}", "signing[0].in"},
		{"wechatpay_v3", "{mchid: 1, serial_no: S, private_key: k, platform_public_key: k}", "signing[0].platform_serial: required"},
		{"wechatpay_v3", "{mchid: 1, serial_no: S, private_key: k, apiv3_key: k}", "decrypt_resource is false"},
		{"wechatpay_v3", "{mchid: 1, serial_no: S, private_key: k, platform_serial: P}", "signing[0].platform_serial: set without platform_public_key"},
		{"wechatpay_v3", "{mchid: 1, serial_no: S, private_key: k, platform_public_key: k, platform_serial: P, platform_keys: [{serial: Q, public_key: k}]}", "signing[0].platform_keys: set with platform_public_key"},
		{"wechatpay_v3", "{mchid: 1, serial_no: S, private_key: k, platform_keys: [{serial: P, public_key: k}, {serial: P, public_key: k}]}", "signing[0].platform_keys[1].serial: \"P\" is listed twice"},
		{"wechatpay_v3", "{mchid: 1, serial_no: S, private_key: k, platform_keys: [{serial: P}]}", "signing[0].platform_keys[0]: needs serial and public_key"},
		{"wechatpay_v3", "{mchid: 1, serial_no: S, private_key: k, platform_keys: [{serial: P, public_key: nosuch}]}", "signing[0].platform_keys[0]"},
		{"wechatpay_v3", "{mchid: 1, serial_no: S, private_key: k, platform_public_key: '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n', platform_serial: P}", "signing[0].platform_public_key"},
		{"alipay_rsa2_callback", "{alipay_public_key: k}", "signing[0].app_id: required"},
		{"alipay_rsa2_callback", "{app_id: '1'}", "signing[0].alipay_public_key: required"},
		{"alipay_rsa2_callback", "{app_id: '1', alipay_public_key: nosuch}", "signing[0].alipay_public_key"},
		{"alipay_rsa2_callback", "{app_id: '1', alipay_public_key: tk}", "is a Transit key"},
		{"alipay_rsa2_callback", "{app_id: '1', alipay_public_key: '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n'}", "signing[0].alipay_public_key"},
		{"alipay_rsa2_callback", "{app_id: '1', alipay_public_key: k, private_key: k}", `unknown field "private_key"`},
		{"aws_sigv4", "{access_key_id: A, secret_access_key: k, service: s}", "signing[0].region: required"},
		{"aws_sigv4", "{access_key_id: A, secret_access_key: tk, region: r, service: s}", "is a Transit key"},
		{"aws_sigv4", "{access_key_id: 'secret:zz', secret_access_key: k, region: r, service: s}", "signing[0].access_key_id"},
		{"rfc9421", "{key: k, components: ['@method']}", ""},
		{"rfc9421", "{key: k, components: ['@body']}", "signing[0].components[0]"},
		{"rfc9421", "{key: k}", "signing[0].components: required"},
		{"rfc9421", "{key: k, alg: rsa-pss-sha512, components: [date]}", "signing[0].alg"},
		{"rfc9421", "{key: k, label: 'Sig 1', components: [date]}", "signing[0].label"},
		{"rfc9421", "{key: k, add_content_digest: md5, components: [date]}", "signing[0].add_content_digest"},
		{"rfc9421", "{key: tk, key_encoding: base64, components: [date]}", "is a Transit key"},
		{"token", "{}", "provider has no token source"},
		{"token", "{header: X, bogus: 1}", `unknown field "bogus"`},
	}
	for _, tc := range tests {
		t.Run(tc.scheme+" "+tc.params, func(t *testing.T) {
			_, err := buildStep(t, tc.scheme, tc.params, secrets, map[string]string{})
			if tc.want == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want it to contain %q", err, tc.want)
			}
			if !strings.HasPrefix(err.Error(), "providers[0].signing[0]") {
				t.Fatalf("error %q does not name the step path", err)
			}
		})
	}
}

func TestCatalogComplete(t *testing.T) {
	want := []string{"static", "simple", "token", "hmac", "rsa", "aes_cbc", "aes_gcm", "alipay_rsa2", "wechatpay_v3", "aws_sigv4", "rfc9421",
		"tc3", "acs3", "aliyun_rpc", "baidu_bce", "huawei_apig", "volcengine", "amap", "baidu_map_sn",
		"aws_sigv4_sdk", "alipay_rsa2_sdk", "wechatpay_v3_sdk", "wechatpay_v3_callback", "alipay_rsa2_callback"}
	c := Builtins()
	if len(c) != len(want) {
		t.Fatalf("catalogue has %d schemes, want %d", len(c), len(want))
	}
	for _, name := range want {
		if c[name] == nil {
			t.Errorf("scheme %s missing", name)
		}
	}
}
