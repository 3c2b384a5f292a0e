package script

import (
	"bytes"
	"context"
	"encoding/base64"
	"testing"

	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/internal/failure"
)

// TestAttackPastedCiphertextRecoversIV: the admin API's dry run takes a provider answer pasted
// by its caller, a tenant developer who may not see secrets. Were that answer's ciphertext the
// provider's, a response function decrypting C1||C1||C2||C3 (C1 any block, C2 and C3 the last
// blocks of a real ciphertext, for valid padding) under the secret IV would print D(C1)^IV and
// D(C1)^C1: their XOR with C1 is the IV. A body the caller chose (Response.Chosen) is no
// provider ciphertext: the decryption fails the request.
func TestAttackPastedCiphertextRecoversIV(t *testing.T) {
	src := reqHead + "}" + respHead + `respBody.leak = aes_cbc_pkcs5_decrypt(AesKey, base64_decode(respBody.data), AesIV);
}`
	step, err := Compile(config.Script{Inline: src}, testBuild(t), Options{})
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	real := cbcEncrypt([]byte(testSecrets["aes_key"]), []byte(testSecrets["aes_iv"]), []byte(`{"paid":true,"x":1}`))
	c1 := real[:16]
	chosen := append(append(append([]byte{}, c1...), c1...), real[len(real)-32:]...)
	x := newExchange("/pay", `{"data":"hello"}`, &fakeTokens{})
	if err := step.SignRequest(context.Background(), x); err != nil {
		t.Fatal(err)
	}
	x.Response = &signerResponse{Status: 200, Chosen: true,
		Body: []byte(`{"data":"` + base64.StdEncoding.EncodeToString(chosen) + `"}`)}
	respErr := step.ProcessResponse(context.Background(), x)
	wantRefused(t, respErr, failure.BadRequest, "the caller chose the response")
	if bytes.Contains(x.Response.Body, []byte("leak")) {
		t.Fatalf("the decryption reached the response: %q", x.Response.Body)
	}
	checkNoSecret(t, [][]byte{x.Response.Body, []byte(respErr.Error())})
}
