package script

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/keygate/keygate/internal/secret"
	"github.com/keygate/keygate/signer"
)

// readyKeys is fakeKeys that can also answer without waiting (signer.ReadyKeys) for the names
// in ready, counting both kinds of read.
type readyKeys struct {
	fakeKeys
	ready          map[string]bool
	waited, inline int
}

func (k *readyKeys) Secret(ctx context.Context, x *signer.Exchange, name string) (secret.Value, error) {
	k.waited++
	return k.fakeKeys.Secret(ctx, x, name)
}

func (k *readyKeys) SecretIfReady(x *signer.Exchange, name string) (secret.Value, bool) {
	if !k.ready[name] {
		return secret.Value{}, false
	}
	k.inline++
	v, err := k.fakeKeys.Secret(context.Background(), x, name)
	return v, err == nil
}

// TestCachedKeysAreReadWithoutLeavingTheRuntime: a key the keystore has at hand is read in
// place, one that is not is read through Secret (outside the runtime, which may wait on Vault),
// and the signed request is the same either way.
func TestCachedKeysAreReadWithoutLeavingTheRuntime(t *testing.T) {
	var calls atomic.Int32
	srv := tokenEndpoint(t, &calls)
	defer srv.Close()
	step := compileInline(t, articleScript, Options{TokenURL: srv.URL + "/token"})
	sign := func(keys signer.Keys) string {
		x := newExchange("/pay", `{"timestamp":1700000000,"data":"hello"}`, &fakeTokens{})
		x.Keys = keys
		if err := step.SignRequest(context.Background(), x); err != nil {
			t.Fatal(err)
		}
		return string(x.Request.Body())
	}
	want := sign(&fakeKeys{})
	for _, ready := range []map[string]bool{
		{"aes_key": true, "aes_iv": true, "app_secret": true},
		{"aes_key": true},
		{},
	} {
		k := &readyKeys{ready: ready}
		if got := sign(k); got != want {
			t.Errorf("ready %v: body %s, want %s", ready, got, want)
		}
		if k.inline != len(ready) || k.inline+k.waited != 3 {
			t.Errorf("ready %v: %d keys read in place, %d through Secret; want %d and %d", ready, k.inline, k.waited, len(ready), 3-len(ready))
		}
	}
}
