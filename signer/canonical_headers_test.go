package signer

import (
	"context"
	"testing"
)

// TestHMACSendsTheTimestampAndNonceHeadersAsked: timestamp_header and nonce_header carry the
// timestamp and nonce of this signature (the provider recomputes the string to sign from them),
// even when the string to sign itself does not use the nonce; without them no header is added.
func TestHMACSendsTheTimestampAndNonceHeadersAsked(t *testing.T) {
	secrets := map[string]string{"k": "secret/p#k"}
	store := &memStore{vals: map[string]string{"secret/p#k": "key"}}
	for _, tt := range []struct {
		params string
		want   map[string]string
	}{
		{"{key: k, string_to_sign: '{method}\\n{timestamp}', name: X-Sig, timestamp_header: X-Ts, nonce_header: X-Nonce}",
			map[string]string{"X-Ts": "1704164645", "X-Nonce": "n0nce"}},
		{"{key: k, string_to_sign: '{method}\\n{timestamp}', name: X-Sig}", map[string]string{}},
	} {
		r := jsonRequest(`{}`)
		if err := mustStep(t, "hmac", tt.params, secrets, nil).SignRequest(context.Background(), exchange(t, store, secrets, r)); err != nil {
			t.Fatal(err)
		}
		for k, v := range tt.want {
			if got := r.Header.Get(k); got != v {
				t.Errorf("%s: %s = %q, want %q", tt.params, k, got, v)
			}
		}
		if len(r.Header) != 2+len(tt.want) { // Content-Type, X-Sig and the ones asked for
			t.Errorf("%s: headers %v", tt.params, r.Header)
		}
	}
}
