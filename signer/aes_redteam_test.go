package signer

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keygate/keygate/internal/jsonbody"
)

// TestRedTeamAESConcurrentTenantsKeepTheirOwnKeys: one provider with two aes steps on one field
// (aes_cbc, then aes_gcm over its ciphertext) runs from many goroutines, each with its own key,
// IV and data (tenants sharing a step's cipher cache, or a key rotated mid-flight). Every
// signed body must open, with a straightforward reference and that goroutine's keys only, to
// that goroutine's data; every response must decrypt back to its own body; and bodies kept
// from earlier requests must not change as the pooled buffers and CBC modes are reused.
func TestRedTeamAESConcurrentTenantsKeepTheirOwnKeys(t *testing.T) {
	cbcStep := mustStep(t, "aes_cbc", "{key: key, iv: iv, field: data}", aesSecrets, nil)
	gcmStep := mustStep(t, "aes_gcm", "{key: key, field: data}", aesSecrets, nil)
	steps := []Step{cbcStep, gcmStep}
	refs := refsOf(t, aesSecrets)
	keyOf := func(g int) (key, iv string) {
		size := []int{16, 24, 32}[g%3]
		return strings.Repeat(string(rune('A'+g)), size), strings.Repeat(string(rune('a'+g)), aes.BlockSize)
	}
	// reference opens a signed body's field: GCM (nonce prefixed) over CBC, with fresh ciphers.
	reference := func(body []byte, key, iv string) (string, error) {
		obj, err := jsonbody.Parse(body)
		if err != nil {
			return "", err
		}
		text, ok := obj.Text("data")
		if !ok {
			return "", fmt.Errorf("no data in %s", body)
		}
		outer, err := base64.StdEncoding.DecodeString(text)
		if err != nil {
			return "", err
		}
		block, _ := aes.NewCipher([]byte(key))
		g, _ := cipher.NewGCM(block)
		if len(outer) < g.NonceSize() {
			return "", fmt.Errorf("short gcm text")
		}
		inner, err := g.Open(nil, outer[:g.NonceSize()], outer[g.NonceSize():], nil)
		if err != nil {
			return "", fmt.Errorf("gcm open under the goroutine's own key: %w", err)
		}
		ct, err := base64.StdEncoding.DecodeString(string(inner))
		if err != nil {
			return "", err
		}
		plain, ok := OpenCBC(block, []byte(iv), ct)
		if !ok {
			return "", fmt.Errorf("cbc open under the goroutine's own key and IV failed")
		}
		return string(plain), nil
	}
	const goroutines, rounds = 8, 60
	var wg sync.WaitGroup
	errs := make(chan error, goroutines)
	for g := range goroutines {
		wg.Go(func() {
			key, iv := keyOf(g)
			store := &memStore{vals: map[string]string{"secret/p#key": key, "secret/p#iv": iv}}
			type kept struct{ body, copy []byte }
			var keep []kept
			for i := range rounds {
				data := fmt.Sprintf("g%d-i%d-%s", g, i, strings.Repeat(string(rune('a'+g)), i*13%200))
				body := fmt.Sprintf(`{"data":%q,"n":%d}`, data, i)
				r := jsonRequest(body)
				x := &Exchange{Provider: "p", Request: r, Keys: NewKeys(store, refs), Clock: FixedClock(pinned, "n0nce")}
				for _, st := range steps {
					if err := st.SignRequest(context.Background(), x); err != nil {
						errs <- err
						return
					}
				}
				r.Settle()
				signed := r.Body()
				got, err := reference(signed, key, iv)
				if err != nil || got != data {
					errs <- fmt.Errorf("goroutine %d round %d: reference open gave %q, %v; want its own %q", g, i, got, err, data)
					return
				}
				if i%10 == 0 {
					keep = append(keep, kept{signed, bytes.Clone(signed)})
				}
				x.Response = &Response{Status: 200, Body: bytes.Clone(signed)}
				for j := len(steps) - 1; j >= 0; j-- {
					if err := steps[j].(ResponseStep).ProcessResponse(context.Background(), x); err != nil {
						errs <- fmt.Errorf("goroutine %d round %d: %w", g, i, err)
						return
					}
				}
				if string(x.Response.Body) != body {
					errs <- fmt.Errorf("goroutine %d round %d: response %s, want %s", g, i, x.Response.Body, body)
					return
				}
			}
			for _, k := range keep {
				if !bytes.Equal(k.body, k.copy) {
					errs <- fmt.Errorf("goroutine %d: a settled body changed after its buffers were reused:\n was %s\n now %s", g, k.copy, k.body)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestRedTeamAWSSigningKeyCacheUnderConcurrentSecrets: one aws_sigv4 step (its cached day
// signing key) signs from many goroutines, each with its own secret and day (a secret rotated
// mid-flight, requests across midnight). Each signature must be the one a fresh step, with
// nothing cached, gives that goroutine's secret and day: never a key derived from another's.
func TestRedTeamAWSSigningKeyCacheUnderConcurrentSecrets(t *testing.T) {
	secrets := map[string]string{"k": "secret/p#k"}
	const params = "{access_key_id: AK, secret_access_key: k, region: us-east-1, service: iam}"
	refs := refsOf(t, secrets)
	sign := func(step Step, g, day int) (string, error) {
		store := &memStore{vals: map[string]string{"secret/p#k": fmt.Sprintf("secret-of-%d", g%4)}}
		r := NewRequest("POST", "https", "iam.amazonaws.com", fmt.Sprintf("/g%d?a=%d", g, day), http.Header{"X-G": {fmt.Sprint(g)}}, []byte(fmt.Sprintf(`{"g":%d}`, g)))
		x := &Exchange{Provider: "p", Request: r, Keys: NewKeys(store, refs),
			Clock: FixedClock(time.Date(2025, 1, day, 23, 59, 59, 0, time.UTC), "")}
		if err := step.SignRequest(context.Background(), x); err != nil {
			return "", err
		}
		return r.Header.Get("Authorization"), nil
	}
	const goroutines, days = 8, 3
	want := map[[2]int]string{}
	for g := range goroutines {
		for day := 1; day <= days; day++ {
			a, err := sign(mustStep(t, "aws_sigv4", params, secrets, nil), g, day)
			if err != nil {
				t.Fatal(err)
			}
			want[[2]int{g, day}] = a
		}
	}
	shared := mustStep(t, "aws_sigv4", params, secrets, nil)
	var wg sync.WaitGroup
	errs := make(chan error, goroutines)
	for g := range goroutines {
		wg.Go(func() {
			for i := range 150 {
				day := 1 + (g+i)%days
				got, err := sign(shared, g, day)
				if err == nil && got != want[[2]int{g, day}] {
					err = fmt.Errorf("goroutine %d day %d: signed %s, want %s", g, day, got, want[[2]int{g, day}])
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
