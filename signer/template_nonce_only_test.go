package signer

import (
	"context"
	"testing"
)

// TestTemplatesOfOnlyTheNonceGetOne: a step whose string to sign and value are nothing but
// {nonce} still draws a nonce; a template made of one placeholder kind is a template that uses
// it.
func TestTemplatesOfOnlyTheNonceGetOne(t *testing.T) {
	secrets := map[string]string{"k": "secret/p#k"}
	store := &memStore{vals: map[string]string{"secret/p#k": "key"}}
	r := jsonRequest(`{}`)
	step := mustStep(t, "hmac", "{key: k, string_to_sign: '{nonce}', value: '{nonce}', name: X-Nonce}", secrets, nil)
	if err := step.SignRequest(context.Background(), exchange(t, store, secrets, r)); err != nil {
		t.Fatal(err)
	}
	if got := r.Header.Get("X-Nonce"); got != "n0nce" {
		t.Errorf("X-Nonce = %q, want the nonce n0nce", got)
	}
}
