package script

import (
	"context"
	"net/http"
	"strings"
	"testing"
)

// echoCase is a request that carries (refused) or does not carry a caller's ciphertext, sent
// by the step whose response function decrypts respBody.data under the secret IV.
type echoCase struct {
	name, path, body string
	header           http.Header
	refused          bool
}

// echoDecrypt is the script of the echo tests: its response function decrypts the response's
// data field under the secret IV.
const echoDecrypt = reqHead + `}` + respHead + `respBody.plain = aes_cbc_pkcs5_decrypt(AesKey, base64_decode(respBody.data), AesIV);
}`

// checkEchoCases sends each case through step, answers {"data": ct} and checks that a refused
// case fails with the echo check's refusal and any other decrypts.
func checkEchoCases(t *testing.T, step *Step, ct, label string, cases []echoCase) {
	t.Helper()
	for _, c := range cases {
		x := newExchange(c.path, c.body, &fakeTokens{})
		for k, vs := range c.header {
			x.Request.Header[k] = vs
		}
		if err := step.SignRequest(context.Background(), x); err != nil {
			t.Fatalf("%s/%s: request: %v", label, c.name, err)
		}
		x.Response = &signerResponse{Status: 200, Header: http.Header{}, Body: []byte(`{"data":"` + ct + `"}`)}
		err := step.ProcessResponse(context.Background(), x)
		if c.refused && (err == nil || !strings.Contains(err.Error(), "only a ciphertext the provider sent")) {
			t.Errorf("%s, %s: a caller-chosen ciphertext decrypted under the secret IV (err %v), want the refusal", label, c.name, err)
		}
		if !c.refused && err != nil {
			t.Errorf("%s, %s: %v", label, c.name, err)
		}
	}
}

// orderHeader is an X-Order header of value v (none when v is empty).
func orderHeader(v string) http.Header {
	if v == "" {
		return nil
	}
	return http.Header{"X-Order": {v}}
}
