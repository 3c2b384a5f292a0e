package signer

import (
	"bytes"
	"context"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/keygate/keygate/internal/failure"
)

// TestAESCBCChosenResponseIsNotDecrypted: a redacted dry run's pasted answer (Response.Chosen)
// is the caller's ciphertext, not the provider's. Decrypting C1||C1||C2||C3 under the fixed IV
// (C2, C3: the last blocks of a real ciphertext, for valid padding) gives D(C1)^IV then
// D(C1)^C1, and their XOR with C1 is the IV, a secret a tenant developer may not see. Such a
// body is refused before anything is decrypted; the provider's own answer still decrypts.
func TestAESCBCChosenResponseIsNotDecrypted(t *testing.T) {
	step := mustStep(t, "aes_cbc", "{key: key, iv: iv, encoding: hex}", aesSecrets, nil)
	r := jsonRequest(`{"data":"a known plaintext of two blocks"}`)
	x := exchange(t, aesStore(), aesSecrets, r)
	if err := step.SignRequest(context.Background(), x); err != nil {
		t.Fatal(err)
	}
	real, _ := hex.DecodeString(string(r.Body()))
	chosen := append(append(append([]byte{}, real[:16]...), real[:16]...), real[len(real)-32:]...)
	x.Response = &Response{Status: 200, Chosen: true, Body: []byte(hex.EncodeToString(chosen))}
	err := step.(ResponseStep).ProcessResponse(context.Background(), x)
	if p := x.Response.Body; err == nil && len(p) >= 32 {
		iv := make([]byte, 16)
		for i := range iv {
			iv[i] = p[i] ^ p[16+i] ^ real[i]
		}
		if string(iv) == aesStore().vals["secret/p#iv"] {
			t.Fatal("the secret IV was recovered from the decryption of a chosen ciphertext")
		}
	}
	if err == nil || failure.KindOf(err) != failure.BadRequest || !strings.Contains(err.Error(), "chose") {
		t.Fatalf("a chosen ciphertext was decrypted under the secret IV: err %v", err)
	}
	if bytes.Contains(x.Response.Body, []byte("fedcba9876543210")) || strings.Contains(err.Error(), "fedcba9876543210") {
		t.Fatal("the IV reached an output")
	}
	// The provider's answer (not chosen) decrypts as before.
	if _, got, err := roundTrip(t, step, `{"data":"x"}`, 200); err != nil || got != `{"data":"x"}` {
		t.Fatalf("round trip: %q %v", got, err)
	}
}
