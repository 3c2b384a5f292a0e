package signer

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/keygate/keygate/internal/failure"
)

// TestGCMCiphertextShorterThanNonceAndTagIsADecryptError: a provider's answer too short to hold
// a nonce and a tag is refused as a decrypt failure (502), whatever its length, never sliced
// (an empty field is no ciphertext: TestAESEmptyFieldOn2xxIsRefused)
// into a panic; one exactly that long is an empty plaintext and decrypts.
func TestGCMCiphertextShorterThanNonceAndTagIsADecryptError(t *testing.T) {
	ctx := context.Background()
	step := mustStep(t, "aes_gcm", "{key: key, field: data}", aesSecrets, nil)
	for _, n := range []int{1, 5, 12, 27} {
		r := jsonRequest(`{"data":"x"}`)
		x := exchange(t, aesStore(), aesSecrets, r)
		if err := step.SignRequest(ctx, x); err != nil {
			t.Fatal(err)
		}
		ct := base64.StdEncoding.EncodeToString(make([]byte, n))
		x.Response = &Response{Status: 200, Body: []byte(`{"data":"` + ct + `"}`)}
		wantKind(t, step.(ResponseStep).ProcessResponse(ctx, x), failure.BadGateway, "decrypt")
	}
	sent, got, err := roundTrip(t, step, `{"data":""}`, 200)
	if err != nil {
		t.Fatalf("empty plaintext (ciphertext of exactly nonce and tag): %v", err)
	}
	if got != `{"data":""}` || strings.Contains(sent, `"data":""`) {
		t.Errorf("empty plaintext: sent %s, got back %s", sent, got)
	}
}

// TestGCMAdditionalDataIsBound: aad is authenticated: a ciphertext made with one aad does not
// decrypt under another, or under none.
func TestGCMAdditionalDataIsBound(t *testing.T) {
	ctx := context.Background()
	seal := mustStep(t, "aes_gcm", "{key: key, field: data, aad: ctx}", aesSecrets, nil)
	r := jsonRequest(`{"data":"x"}`)
	x := exchange(t, aesStore(), aesSecrets, r)
	if err := seal.SignRequest(ctx, x); err != nil {
		t.Fatal(err)
	}
	for _, params := range []string{"{key: key, field: data, aad: other}", "{key: key, field: data}"} {
		open := mustStep(t, "aes_gcm", params, aesSecrets, nil)
		y := exchange(t, aesStore(), aesSecrets, jsonRequest(`{"data":"x"}`))
		if err := open.SignRequest(ctx, y); err != nil {
			t.Fatal(err)
		}
		y.Response = &Response{Status: 200, Body: r.Body()}
		wantKind(t, open.(ResponseStep).ProcessResponse(ctx, y), failure.BadGateway, "decrypt")
	}
}
