package signer

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
	"testing"

	"github.com/keygate/keygate/internal/failure"
)

// Red team of the placeholder SDK schemes (docs/sdks.md): a real credential must not slip
// through, no part of the SDK's fake signature may leave, and a payload keygate cannot
// re-sign is refused in every form the SDK can send it.

const (
	sdkAWSParams = "{access_key_id: AKIDREALREALREAL0001, secret_access_key: sk, regions: [us-east-1], services: [s3, sqs]}"
	fakeSDKSig   = "deadbeefdeadbeefdeadbeefdeadbeefdeadbeefdeadbeefdeadbeefdeadbeef"
	sdkCred      = "KEYGATE-PLACEHOLDER/20240102/us-east-1/s3/aws4_request"
)

func awsSDK(t *testing.T) (Step, func(*Request) error) {
	t.Helper()
	secrets := map[string]string{"sk": "secret/p#sk"}
	store := &memStore{vals: map[string]string{"secret/p#sk": "realSecretAccessKeyValue0000000000000000"}}
	step := mustStep(t, "aws_sigv4_sdk", sdkAWSParams, secrets, nil)
	return step, func(r *Request) error {
		return step.SignRequest(context.Background(), exchange(t, store, secrets, r))
	}
}

func presignedQuery(extra string) string {
	return "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=" + strings.ReplaceAll(sdkCred, "/", "%2F") +
		"&X-Amz-Date=20240102T030405Z&X-Amz-Expires=900&X-Amz-SignedHeaders=host&X-Amz-Signature=" + fakeSDKSig + extra
}

// TestPlaceholderAWSPresignedPayloadModes: the payload hash a presigned URL carries in its query
// is the same choice as the header form's X-Amz-Content-Sha256 and gets the same answer: a
// signed streaming mode (every chunk signed with the placeholder key) is refused, a hex digest
// must be the body's.
func TestPlaceholderAWSPresignedPayloadModes(t *testing.T) {
	_, sign := awsSDK(t)
	body := []byte("chunk-signed body")
	sum := sha256.Sum256(body)
	for _, tc := range []struct {
		name, mode string
		refuse     bool
	}{
		{"signed streaming", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", true},
		{"signed streaming with trailer", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER", true},
		{"ECDSA streaming", "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD", true},
		{"a digest of another body", hex.EncodeToString(make([]byte, 32)), true},
		{"not a mode", "whatever", true},
		{"unsigned", "UNSIGNED-PAYLOAD", false},
		{"the body's digest", hex.EncodeToString(sum[:]), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := NewRequest("PUT", "https", "s3.amazonaws.com", "/b/k?"+presignedQuery("&X-Amz-Content-Sha256="+tc.mode), http.Header{}, body)
			err := sign(r)
			if !tc.refuse {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			wantKind(t, err, failure.BadRequest, placeholderStage)
		})
	}
}

// TestPlaceholderAWSRealCredentialRefused: every way of carrying a credential that is not the
// placeholder, or a second signature beside the placeholder's, is refused.
func TestPlaceholderAWSRealCredentialRefused(t *testing.T) {
	_, sign := awsSDK(t)
	auth := func(cred string) string {
		return "AWS4-HMAC-SHA256 Credential=" + cred + ", SignedHeaders=host;x-amz-date, Signature=" + fakeSDKSig
	}
	realCred := "AKIAIOSFODNN7EXAMPLE/20240102/us-east-1/s3/aws4_request"
	for _, tc := range []struct {
		name   string
		query  string
		header [][2]string
		kind   failure.Kind
	}{
		{"real key ID in the header", "", [][2]string{{"Authorization", auth(realCred)}}, failure.Forbidden},
		{"real key ID in a presigned URL", strings.Replace(presignedQuery(""), "KEYGATE-PLACEHOLDER", "AKIAIOSFODNN7EXAMPLE", 1), nil, failure.Forbidden},
		{"placeholder header and a real presigned credential", "X-Amz-Credential=" + realCred, [][2]string{{"Authorization", auth(sdkCred)}}, failure.BadRequest},
		{"a second Authorization", "", [][2]string{{"Authorization", auth(sdkCred)}, {"Authorization", auth(realCred)}}, failure.BadRequest},
		{"two credentials in one Authorization", "", [][2]string{{"Authorization", auth(sdkCred) + ", Credential=" + realCred}}, failure.BadRequest},
		{"SigV4 query parameter in lower case", presignedQuery("&x-amz-credential=" + realCred), nil, failure.BadRequest},
		{"SigV4 query parameter percent-encoded", presignedQuery("&X-Amz-%43redential=" + realCred), nil, failure.BadRequest},
		{"a real session token", "", [][2]string{{"Authorization", auth(sdkCred)}, {"X-Amz-Security-Token", "FwoGZXIvYXdzEBYaDRealToken"}}, failure.Forbidden},
		{"a session token in the query of a presigned URL", presignedQuery("&X-Amz-Security-Token=FwoGZXIvYXdzEBYaDRealToken"), nil, failure.Forbidden},
		{"another scheme", "", [][2]string{{"Authorization", "Bearer AKIAIOSFODNN7EXAMPLE"}}, failure.Forbidden},
		{"the scheme in lower case", "", [][2]string{{"Authorization", strings.ToLower(auth(realCred))}}, failure.Forbidden},
		{"SigV4a", "", [][2]string{{"Authorization", strings.Replace(auth(sdkCred), "AWS4-HMAC-SHA256", "AWS4-ECDSA-P256-SHA256", 1)}}, failure.BadRequest},
		{"a region outside the allow-list", "", [][2]string{{"Authorization", auth(strings.Replace(sdkCred, "us-east-1", "eu-west-1", 1))}}, failure.Forbidden},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			for _, kv := range tc.header {
				h.Add(kv[0], kv[1])
			}
			path := "/b/k"
			if tc.query != "" {
				path += "?" + tc.query
			}
			wantKind(t, sign(NewRequest("GET", "https", "s3.amazonaws.com", path, h, nil)), tc.kind, placeholderStage)
		})
	}
}

// TestPlaceholderAWSNoFakePartLeaves: after re-signing, neither the placeholder identity nor the
// SDK's signature is anywhere in what leaves (query, headers), in the header and query forms.
func TestPlaceholderAWSNoFakePartLeaves(t *testing.T) {
	_, sign := awsSDK(t)
	h := http.Header{}
	h.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+sdkCred+", SignedHeaders=host;x-amz-date;x-amz-content-sha256, Signature="+fakeSDKSig)
	h.Set("X-Amz-Date", "20240102T030405Z")
	h.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
	forms := map[string]*Request{
		"header form": NewRequest("GET", "https", "s3.amazonaws.com", "/b/k?list-type=2", h, nil),
		"query form":  NewRequest("GET", "https", "s3.amazonaws.com", "/b/k?list-type=2&"+presignedQuery(""), http.Header{}, nil),
	}
	for name, r := range forms {
		if err := sign(r); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out := r.Path
		for k, vs := range r.Header {
			out += "\n" + k + ": " + strings.Join(vs, ",")
		}
		for _, fake := range []string{"KEYGATE-PLACEHOLDER", fakeSDKSig} {
			if strings.Contains(out, fake) {
				t.Errorf("%s: %q survived the re-signing:\n%s", name, fake, out)
			}
		}
		if strings.Count(out, "AKIDREALREALREAL0001") != 1 {
			t.Errorf("%s: the real key ID is not in exactly one place:\n%s", name, out)
		}
	}
}

// TestPlaceholderPayRealIdentityRefused: Alipay's app_id and WeChat Pay's serial, spelled so
// that a real one might pass beside the placeholder.
func TestPlaceholderPayRealIdentityRefused(t *testing.T) {
	key := testKeys()["rsa"]
	secrets := map[string]string{"pk": "secret/p#pk"}
	store := &memStore{vals: map[string]string{"secret/p#pk": pemOf(t, key, "pkcs8")}}
	alipay := mustStep(t, "alipay_rsa2_sdk", "{app_id: '2021000000000001', private_key: pk}", secrets, nil)
	form := http.Header{}
	form.Set("Content-Type", "application/x-www-form-urlencoded")
	for name, r := range map[string]*Request{
		"real app_id in the query, placeholder in the form": NewRequest("POST", "https", "openapi.alipay.com", "/gateway.do?app_id=2021999999999999&sign=abc", form.Clone(), []byte("app_id=KEYGATE-PLACEHOLDER")),
		"sign without app_id":                               NewRequest("POST", "https", "openapi.alipay.com", "/gateway.do?sign=abc", form.Clone(), []byte("biz_content=%7B%7D")),
		"app_id twice in the form":                          NewRequest("POST", "https", "openapi.alipay.com", "/gateway.do", form.Clone(), []byte("sign=x&app_id=KEYGATE-PLACEHOLDER&app_id=2021999999999999")),
		"a real app_id signed":                              NewRequest("POST", "https", "openapi.alipay.com", "/gateway.do", form.Clone(), []byte("sign=x&app_id=2021999999999999")),
	} {
		err := alipay.SignRequest(context.Background(), exchange(t, store, secrets, r))
		if err == nil {
			t.Errorf("alipay, %s: re-signed", name)
		}
	}
	wechat := mustStep(t, "wechatpay_v3_sdk", "{mchid: '1900009191', serial_no: REALSERIAL01, private_key: pk, platform_public_key: pk, platform_serial: P1}", secrets, nil)
	wauth := func(serial string) string {
		return `WECHATPAY2-SHA256-RSA2048 mchid="1900009191",nonce_str="n",signature="s",timestamp="1",serial_no="` + serial + `"`
	}
	for name, vals := range map[string][]string{
		"a real serial":                  {wauth("5157F09EFDC096DE15EBE81A47057A72")},
		"placeholder, then a real one":   {wauth("KEYGATE-PLACEHOLDER"), wauth("5157F09EFDC096DE15EBE81A47057A72")},
		"serial_no twice in one":         {wauth("KEYGATE-PLACEHOLDER") + `,serial_no="5157F09EFDC096DE15EBE81A47057A72"`},
		"another merchant":               {strings.Replace(wauth("KEYGATE-PLACEHOLDER"), "1900009191", "1900000001", 1)},
		"scheme in lower case":           {strings.Replace(wauth("KEYGATE-PLACEHOLDER"), "WECHATPAY2", "wechatpay2", 1)},
		"placeholder with a padded name": {wauth("KEYGATE-PLACEHOLDER ")},
	} {
		h := http.Header{}
		for _, v := range vals {
			h.Add("Authorization", v)
		}
		r := NewRequest("GET", "https", "api.mch.weixin.qq.com", "/v3/pay/transactions/id/1", h, nil)
		if err := wechat.SignRequest(context.Background(), exchange(t, store, secrets, r)); err == nil {
			t.Errorf("wechat, %s: re-signed", name)
		}
	}
}
