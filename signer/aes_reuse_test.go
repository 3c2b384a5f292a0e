package signer

import (
	"bytes"
	"context"
	"crypto/aes"
	"encoding/base64"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/keygate/keygate/internal/jsonbody"
)

// TestSettledBodyOutlivesScratchReuse: the encrypted field is built in a pooled buffer that
// Settle gives back; the settled body must be its own bytes, untouched when the next requests
// reuse the buffer.
func TestSettledBodyOutlivesScratchReuse(t *testing.T) {
	step := mustStep(t, "aes_cbc", "{key: key, iv: iv, field: data}", aesSecrets, nil)
	sign := func(data string) []byte {
		r := jsonRequest(`{"data":"` + data + `","n":1}`)
		if err := step.SignRequest(context.Background(), exchange(t, aesStore(), aesSecrets, r)); err != nil {
			t.Fatal(err)
		}
		r.Settle()
		if len(r.scratch) != 0 {
			t.Fatalf("Settle kept %d scratch buffers", len(r.scratch))
		}
		return r.Body()
	}
	first := sign(strings.Repeat("a", 100))
	kept := bytes.Clone(first)
	for i := range 20 {
		sign(strings.Repeat(string(rune('b'+i%20)), 100+i))
	}
	if !bytes.Equal(first, kept) {
		t.Fatalf("a settled body changed when its scratch buffer was reused:\n was %s\n now %s", kept, first)
	}
}

// TestDecryptedResponseOutlivesScratchReuse: a response field is decoded and decrypted in a
// pooled buffer; the new body must not alias it.
func TestDecryptedResponseOutlivesScratchReuse(t *testing.T) {
	step := mustStep(t, "aes_cbc", "{key: key, iv: iv, field: data}", aesSecrets, nil)
	_, first, err := roundTrip(t, step, `{"data":{"v":"first"},"n":1}`, 200)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		if _, _, err := roundTrip(t, step, fmt.Sprintf(`{"data":{"v":"other %d"},"n":2}`, i), 200); err != nil {
			t.Fatal(err)
		}
	}
	if first != `{"data":{"v":"first"},"n":1}` {
		t.Fatalf("decrypted body changed: %s", first)
	}
}

// TestAESCipherFollowsKeyRotation: the step keeps the expanded cipher of its last key; a new
// key (same version, as a file keystore reports) must be used at once.
func TestAESCipherFollowsKeyRotation(t *testing.T) {
	step := mustStep(t, "aes_cbc", "{key: key, iv: iv, field: data}", aesSecrets, nil)
	store := aesStore()
	encryptWith := func() string {
		r := jsonRequest(`{"data":"hello"}`)
		if err := step.SignRequest(context.Background(), exchange(t, store, aesSecrets, r)); err != nil {
			t.Fatal(err)
		}
		obj, err := jsonbody.Parse(r.Body())
		if err != nil {
			t.Fatal(err)
		}
		return jsonbody.TextOf(mustRaw(t, obj, "data"))
	}
	want := func(key string) string {
		block, _ := aes.NewCipher([]byte(key))
		return base64.StdEncoding.EncodeToString(SealCBC(block, []byte(store.vals["secret/p#iv"]), []byte("hello")))
	}
	oldKey := store.vals["secret/p#key"]
	if got := encryptWith(); got != want(oldKey) {
		t.Fatalf("first key: got %s, want %s", got, want(oldKey))
	}
	newKey := "fedcba9876543210fedcba9876543210"
	store.vals["secret/p#key"] = newKey
	if got := encryptWith(); got != want(newKey) {
		t.Fatalf("after rotation the old key's cipher was used: got %s, want %s", got, want(newKey))
	}
	store.vals["secret/p#key"] = "0123456789abcdef" // another size
	if got := encryptWith(); got != want("0123456789abcdef") {
		t.Fatalf("after a rotation to AES-128: got %s", got)
	}
	store.vals["secret/p#iv"] = "0000111122223333" // the IV alone: a reused CBC mode starts at it
	if got := encryptWith(); got != want("0123456789abcdef") {
		t.Fatalf("after the IV's rotation: got %s", got)
	}
}

// TestAESStepConcurrentRoundTrips runs one step from many goroutines (as requests do): the
// cipher cache and the pooled buffers must keep each request's data its own (run with -race).
func TestAESStepConcurrentRoundTrips(t *testing.T) {
	for _, scheme := range []string{"aes_cbc", "aes_gcm"} {
		step := mustStep(t, scheme, "{key: key, field: data"+map[string]string{"aes_cbc": ", iv: iv}", "aes_gcm": "}"}[scheme], aesSecrets, nil)
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for g := range 8 {
			wg.Go(func() {
				for i := range 50 {
					body := fmt.Sprintf(`{"data":"%s","n":%d}`, strings.Repeat(string(rune('a'+g)), 10+i*7), i)
					r := jsonRequest(body)
					x := exchange(t, aesStore(), aesSecrets, r)
					if err := step.SignRequest(context.Background(), x); err != nil {
						errs <- err
						return
					}
					r.Settle()
					x.Response = &Response{Status: 200, Body: r.Body()}
					if err := step.(ResponseStep).ProcessResponse(context.Background(), x); err != nil {
						errs <- err
						return
					}
					if string(x.Response.Body) != body {
						errs <- fmt.Errorf("%s: got %s, want %s", scheme, x.Response.Body, body)
						return
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
	}
}

func mustRaw(t *testing.T, obj *jsonbody.Object, key string) []byte {
	t.Helper()
	raw, ok := obj.Raw(key)
	if !ok {
		t.Fatalf("no %q in the body", key)
	}
	return raw
}
