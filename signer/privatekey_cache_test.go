package signer

import (
	"context"
	"crypto/rsa"
	"testing"

	"github.com/keygate/keygate/internal/secret"
	"github.com/keygate/keygate/keystore"
)

// TestPrivateKeyCacheIsBoundedAndReused: a key version is parsed once and then reused, and
// however many versions pass through (rotations, a file keystore's changing PEMs), the cache
// holds at most maxParsedKeys of them.
func TestPrivateKeyCacheIsBoundedAndReused(t *testing.T) {
	ref, err := keystore.ParseRef("secret/p#pk")
	if err != nil {
		t.Fatal(err)
	}
	pem := secret.FromString(pemOf(t, testKeys()["ecdsa"], "pkcs8"))
	c := newPrivateKeyCache()
	first, err := c.get(ref, keystore.Secret{Value: pem, Version: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.get(ref, keystore.Secret{Value: pem, Version: 2}); err != nil {
		t.Fatal(err)
	}
	if again, _ := c.get(ref, keystore.Secret{Value: pem, Version: 1}); again != first {
		t.Error("version 1 was parsed again after version 2 was added: the cache keeps one key")
	}
	for v := 3; v <= 2*maxParsedKeys; v++ {
		if _, err := c.get(ref, keystore.Secret{Value: pem, Version: v}); err != nil {
			t.Fatal(err)
		}
		if n := len(c.keys); n > maxParsedKeys {
			t.Fatalf("after %d versions the cache holds %d keys, over the bound %d", v, n, maxParsedKeys)
		}
	}
	last := keystore.Secret{Value: pem, Version: 2 * maxParsedKeys}
	a, _ := c.get(ref, last)
	n := len(c.keys)
	b, _ := c.get(ref, last)
	if a != b || len(c.keys) != n || n == 0 {
		t.Errorf("the same version was parsed again (cache %d -> %d keys)", n, len(c.keys))
	}
}

// TestPublicKeyIsParsedOncePerPEM: a platform key read from the keystore is parsed once and
// reused while the PEM is the same.
func TestPublicKeyIsParsedOncePerPEM(t *testing.T) {
	secrets := map[string]string{"plat": "secret/p#plat"}
	store := &memStore{vals: map[string]string{"secret/p#plat": pemOf(t, testKeys()["rsa"], "public")}}
	x := exchange(t, store, secrets, jsonRequest(`{}`))
	p := &publicKeySource{secret: "plat", ref: "secret/p#plat"}
	a, err := p.get(context.Background(), x)
	if err != nil {
		t.Fatal(err)
	}
	b, err := p.get(context.Background(), x)
	if err != nil {
		t.Fatal(err)
	}
	if a.(*rsa.PublicKey) != b.(*rsa.PublicKey) {
		t.Error("the same PEM was parsed again")
	}
}
