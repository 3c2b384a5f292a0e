package signer

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"testing"
)

func TestHMACScheme(t *testing.T) {
	secrets := map[string]string{"k": "secret/p#k", "tk": "transit:transit/h"}
	ts := &transitStore{memStore: memStore{vals: map[string]string{"secret/p#k": "key"}}, hmacKeys: map[string][]byte{"transit/h": []byte("key")}}
	sign := func(h string, msg string) []byte {
		m := hmac.New(sha256.New, []byte("key"))
		if h == "sha1" {
			m = hmac.New(sha1.New, []byte("key"))
		}
		m.Write([]byte(msg))
		return m.Sum(nil)
	}
	const tmpl = `{method}\n{path}\n{query}\n{timestamp}\n{nonce}\n{header:content-type}\n{header:host}\n{body_sha256}`
	bodySum := sha256.Sum256([]byte(`{"a":1}`))
	canonical := "POST\n/v1/pay\na=1&b=2\n1704164645\nn0nce\napplication/json\napi.example.com\n" + hex.EncodeToString(bodySum[:])
	tests := []struct {
		name, params, header, want, query string
	}{
		{"sha256 hex header with value template", "{key: k, string_to_sign: '" + tmpl + "', name: X-Sig, value: 'HMAC {signature}', timestamp_header: X-Ts, nonce_header: X-Nonce}",
			"X-Sig", "HMAC " + hex.EncodeToString(sign("sha256", canonical)), "b=2&a=1"},
		{"transit key gives the same MAC", "{key: tk, string_to_sign: '" + tmpl + "', name: X-Sig, value: 'HMAC {signature}', timestamp_header: X-Ts, nonce_header: X-Nonce}",
			"X-Sig", "HMAC " + hex.EncodeToString(sign("sha256", canonical)), "b=2&a=1"},
		{"sha1 base64 query", "{key: k, hash: sha1, encoding: base64, string_to_sign: '{method}&{target}', output: query, name: sig}",
			"", "", "b=2&a=1&sig=" + queryEscape(base64.StdEncoding.EncodeToString(sign("sha1", "POST&/v1/pay?b=2&a=1")))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := jsonRequest(`{"a":1}`)
			step := mustStep(t, "hmac", tc.params, secrets, nil)
			if err := step.SignRequest(context.Background(), exchange(t, ts, secrets, r)); err != nil {
				t.Fatal(err)
			}
			if tc.header != "" && r.Header.Get(tc.header) != tc.want {
				t.Fatalf("%s\n got %s\nwant %s", tc.header, r.Header.Get(tc.header), tc.want)
			}
			if r.RawQuery() != tc.query {
				t.Fatalf("query\n got %s\nwant %s", r.RawQuery(), tc.query)
			}
		})
	}
}

func TestRSAScheme(t *testing.T) {
	for _, kind := range []string{"rsa", "ecdsa", "ed25519"} {
		t.Run(kind, func(t *testing.T) {
			key := testKeys()[kind]
			secrets := map[string]string{"pk": "secret/p#pk"}
			store := &memStore{vals: map[string]string{"secret/p#pk": pemOf(t, key, "pkcs8")}}
			r := jsonRequest(`{}`)
			step := mustStep(t, "rsa", "{key: pk, string_to_sign: '{method} {target}\\n{body}', name: X-Signature}", secrets, nil)
			if step.Needs() != (Needs{RequestBody: true}) {
				t.Fatalf("needs %+v", step.Needs())
			}
			if err := step.SignRequest(context.Background(), exchange(t, store, secrets, r)); err != nil {
				t.Fatal(err)
			}
			sig, err := base64.StdEncoding.DecodeString(r.Header.Get("X-Signature"))
			if err != nil || !verify(key.Public(), []byte("POST /v1/pay?b=2&a=1\n{}"), sig) {
				t.Fatalf("signature does not verify (%v)", err)
			}
		})
	}
}
