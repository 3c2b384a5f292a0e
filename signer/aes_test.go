package signer

import (
	"bytes"
	"context"
	"crypto/aes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/keygate/keygate/internal/failure"
)

var aesSecrets = map[string]string{"key": "secret/p#key", "iv": "secret/p#iv", "short": "secret/p#short", "nonce": "secret/p#nonce"}

func aesStore() *memStore {
	return &memStore{vals: map[string]string{
		"secret/p#key": "0123456789abcdef0123456789abcdef", "secret/p#iv": "fedcba9876543210",
		"secret/p#short": "tooshort-secret!x", "secret/p#nonce": "abcdefghijkl",
	}}
}

// roundTrip encrypts body with step and feeds the result back as the response.
func roundTrip(t *testing.T, step Step, body string, status int) (sent, received string, err error) {
	t.Helper()
	r := jsonRequest(body)
	x := exchange(t, aesStore(), aesSecrets, r)
	if err := step.SignRequest(context.Background(), x); err != nil {
		return "", "", err
	}
	x.Response = &Response{Status: status, Body: r.Body()}
	err = step.(ResponseStep).ProcessResponse(context.Background(), x)
	return string(r.Body()), string(x.Response.Body), err
}

func TestAESRoundTrip(t *testing.T) {
	tests := []struct{ scheme, params, body string }{
		{"aes_cbc", "{key: key, iv: iv, field: data}", `{"data":"123456","n":1}`},
		{"aes_cbc", "{key: key, iv: iv, field: data, encoding: hex}", `{"data":{"a":[1,2]},"n":1}`},
		{"aes_cbc", "{key: key, iv: iv}", `{"whole":"body"}`},
		{"aes_gcm", "{key: key, field: data}", `{"data":"exactly16bytes!!!"}`},
		{"aes_gcm", "{key: key, field: data, nonce: nonce, aad: ctx}", `{"data":"x"}`},
		{"aes_gcm", "{key: key}", `plain text, not JSON`},
	}
	for _, tc := range tests {
		t.Run(tc.scheme+" "+tc.params, func(t *testing.T) {
			sent, got, err := roundTrip(t, mustStep(t, tc.scheme, tc.params, aesSecrets, nil), tc.body, 200)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(sent, "123456") || strings.Contains(sent, "whole") || strings.Contains(sent, "plain") {
				t.Fatalf("plaintext left in the request: %s", sent)
			}
			if got != tc.body {
				t.Fatalf("decrypted\n got %s\nwant %s", got, tc.body)
			}
		})
	}
}

func TestAESCBCKnownAnswer(t *testing.T) {
	// printf hello | openssl enc -aes-256-cbc -K <hex of the key> -iv <hex of the iv> | xxd -p
	r := jsonRequest(`{"data":"hello"}`)
	step := mustStep(t, "aes_cbc", "{key: key, iv: iv, field: data, encoding: hex}", aesSecrets, nil)
	if err := step.SignRequest(context.Background(), exchange(t, aesStore(), aesSecrets, r)); err != nil {
		t.Fatal(err)
	}
	var out struct{ Data string }
	_ = json.Unmarshal(r.Body(), &out)
	if out.Data != "4369f252d11fc8b9354b69708387bd81" {
		t.Fatalf("ciphertext %q differs from OpenSSL's", out.Data)
	}
}

func TestAESFailures(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name, scheme, params, body string
		status                     int
		respBody                   string // "" means: the request phase must fail
		kind                       failure.Kind
		stage                      string
	}{
		{"missing field", "aes_cbc", "{key: key, iv: iv, field: data}", `{"other":1}`, 0, "", failure.BadRequest, "encrypt"},
		{"bad JSON", "aes_gcm", "{key: key, field: data}", `{"data":`, 0, "", failure.BadRequest, "encrypt"},
		{"wrong key size", "aes_cbc", "{key: short, iv: iv, field: data}", `{"data":"x"}`, 0, "", failure.Internal, "encrypt"},
		{"wrong iv size", "aes_cbc", "{key: key, iv: short, field: data}", `{"data":"x"}`, 0, "", failure.Internal, "encrypt"},
		{"bad key encoding", "aes_gcm", "{key: short, key_encoding: base64, field: data}", `{"data":"x"}`, 0, "", failure.Internal, "encrypt"},
		{"garbage ciphertext 2xx", "aes_cbc", "{key: key, iv: iv, field: data}", `{"data":"x"}`, 200, `{"data":"AAAAAAAAAAAAAAAAAAAAAA=="}`, failure.BadGateway, "decrypt"},
		{"not base64 2xx", "aes_gcm", "{key: key, field: data}", `{"data":"x"}`, 200, `{"data":"%%%"}`, failure.BadGateway, "decrypt"},
		{"tampered gcm", "aes_gcm", "{key: key, field: data}", `{"data":"x"}`, 200, `{"data":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}`, failure.BadGateway, "decrypt"},
		{"non-JSON 2xx field mode", "aes_cbc", "{key: key, iv: iv, field: data}", `{"data":"x"}`, 200, `<html>`, failure.BadGateway, "decrypt"},
		{"whole body garbage 2xx", "aes_cbc", "{key: key, iv: iv}", `{"data":"x"}`, 200, `not-ciphertext`, failure.BadGateway, "decrypt"},
		{"whole body garbage 299 (a 2xx too)", "aes_cbc", "{key: key, iv: iv}", `{"data":"x"}`, 299, `not-ciphertext`, failure.BadGateway, "decrypt"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			step := mustStep(t, tc.scheme, tc.params, aesSecrets, nil)
			r := jsonRequest(tc.body)
			x := exchange(t, aesStore(), aesSecrets, r)
			err := step.SignRequest(ctx, x)
			if tc.respBody != "" {
				if err != nil {
					t.Fatal(err)
				}
				x.Response = &Response{Status: tc.status, Body: []byte(tc.respBody)}
				err = step.(ResponseStep).ProcessResponse(ctx, x)
			}
			wantKind(t, err, tc.kind, tc.stage)
			for _, v := range aesStore().vals {
				if strings.Contains(err.Error(), v) {
					t.Fatal("the error holds a secret value")
				}
			}
			if tc.kind == failure.Internal && !strings.Contains(err.Error(), "secret/p#") {
				t.Fatalf("a key error must name the reference: %v", err)
			}
		})
	}
}

func TestAESResponsePassThrough(t *testing.T) {
	tests := []struct {
		name, params string
		status       int
		body         string
	}{
		{"plain JSON error without the field", "{key: key, iv: iv, field: data}", 200, `{"code":"E1","msg":"bad"}`},
		{"null field", "{key: key, iv: iv, field: data}", 200, `{"data":null}`},
		{"non-JSON 5xx", "{key: key, iv: iv, field: data}", 502, `Bad Gateway`},
		{"non-JSON 2xx, response_optional", "{key: key, iv: iv, field: data, response_optional: true}", 200, `<html>`},
		{"whole body, undecryptable 4xx", "{key: key, iv: iv}", 400, `{"error":"plain"}`},
		{"whole body, empty", "{key: key, iv: iv}", 200, ``},
		{"decrypt_response off", "{key: key, iv: iv, field: data, decrypt_response: false}", 200, `{"data":"garbage"}`},
		{"other response field", "{key: key, iv: iv, field: data, response_field: result}", 200, `{"data":"garbage"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			step := mustStep(t, "aes_cbc", tc.params, aesSecrets, nil).(ResponseStep)
			x := exchange(t, aesStore(), aesSecrets, jsonRequest(`{}`))
			x.Response = &Response{Status: tc.status, Body: []byte(tc.body)}
			if err := step.ProcessResponse(context.Background(), x); err != nil {
				t.Fatal(err)
			}
			if string(x.Response.Body) != tc.body {
				t.Fatalf("body changed to %q", x.Response.Body)
			}
		})
	}
}

// TestAESEmptyFieldOn2xxIsRefused: no cipher mode has an empty ciphertext, so a 2xx whose
// encrypted field is present but empty is a 502, in both modes, not a body passed on as if it
// had been decrypted. Errors (non-2xx), response_optional and a null or absent field still pass.
func TestAESEmptyFieldOn2xxIsRefused(t *testing.T) {
	for _, scheme := range []string{"aes_cbc", "aes_gcm"} {
		params := "{key: key, iv: iv, field: data}"
		if scheme == "aes_gcm" {
			params = "{key: key, field: data}"
		}
		for _, tc := range []struct {
			params, body string
			status       int
			refuse       bool
		}{
			{params, `{"data":""}`, 200, true},
			{params, `{"data":"", "code":0}`, 299, true},
			{params, `{"data":""}`, 400, false},
			{params, `{"data":null}`, 200, false},
			{params, `{"code":"E1"}`, 200, false},
			{strings.Replace(params, "}", ", response_optional: true}", 1), `{"data":""}`, 200, false},
		} {
			step := mustStep(t, scheme, tc.params, aesSecrets, nil).(ResponseStep)
			x := exchange(t, aesStore(), aesSecrets, jsonRequest(`{}`))
			x.Response = &Response{Status: tc.status, Body: []byte(tc.body)}
			err := step.ProcessResponse(context.Background(), x)
			if tc.refuse {
				wantKind(t, err, failure.BadGateway, "decrypt")
			} else if err != nil || string(x.Response.Body) != tc.body {
				t.Errorf("%s %s %d %s: %v, body %s; want it unchanged", scheme, tc.params, tc.status, tc.body, err, x.Response.Body)
			}
		}
	}
}

func TestUnpadPKCS7(t *testing.T) {
	block := func(tail ...byte) []byte {
		b := make([]byte, 16)
		copy(b[16-len(tail):], tail)
		return b
	}
	tests := []struct {
		b    []byte
		n    int
		good bool
	}{
		{block(1), 15, true},
		{block(2, 2), 14, true},
		{block(1, 2), 0, false},
		{block(0), 0, false},
		{block(17), 0, false},
		{[]byte(strings.Repeat("\x10", 16)), 0, true},
	}
	for i, tc := range tests {
		n, ok := unpadPKCS7(tc.b)
		if ok != tc.good || (ok && n != tc.n) {
			t.Errorf("case %d: got %d,%v want %d,%v", i, n, ok, tc.n, tc.good)
		}
	}
}

// TestSealCBCStringIsSealCBC: encrypting a string straight into the ciphertext's buffer gives
// SealCBC's ciphertext at every length around the block (the padding), and OpenCBC reads it
// back.
func TestSealCBCStringIsSealCBC(t *testing.T) {
	block, err := aes.NewCipher([]byte("0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	iv := []byte("fedcba9876543210")
	text := strings.Repeat("ü-plain/", 12)
	for n := 0; n <= len(text); n++ {
		got, want := SealCBCString(block, iv, text[:n]), SealCBC(block, iv, []byte(text[:n]))
		if !bytes.Equal(got, want) {
			t.Fatalf("%d bytes: SealCBCString differs from SealCBC", n)
		}
		if pt, ok := OpenCBC(block, iv, got); !ok || string(pt) != text[:n] {
			t.Fatalf("%d bytes: does not decrypt back", n)
		}
	}
}
