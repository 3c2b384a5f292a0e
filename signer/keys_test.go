package signer

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"strings"
	"sync"
	"testing"

	"github.com/keygate/keygate/internal/failure"
	"github.com/keygate/keygate/internal/secret"
	"github.com/keygate/keygate/keystore"
)

// testKeys are generated once per test binary.
var testKeys = sync.OnceValue(func() map[string]crypto.Signer {
	r, _ := rsa.GenerateKey(rand.Reader, 2048)
	e, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	_, d, _ := ed25519.GenerateKey(rand.Reader)
	return map[string]crypto.Signer{"rsa": r, "ecdsa": e, "ed25519": d}
})

func pemOf(t testing.TB, k crypto.Signer, form string) string {
	t.Helper()
	var der []byte
	var typ string
	switch form {
	case "pkcs8":
		der, _ = x509.MarshalPKCS8PrivateKey(k)
		typ = "PRIVATE KEY"
	case "pkcs1":
		der, typ = x509.MarshalPKCS1PrivateKey(k.(*rsa.PrivateKey)), "RSA PRIVATE KEY"
	case "sec1":
		der, _ = x509.MarshalECPrivateKey(k.(*ecdsa.PrivateKey))
		typ = "EC PRIVATE KEY"
	case "public":
		der, _ = x509.MarshalPKIXPublicKey(k.Public())
		typ = "PUBLIC KEY"
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}))
}

func verify(pub crypto.PublicKey, msg, sig []byte) bool {
	sum := sha256.Sum256(msg)
	switch k := pub.(type) {
	case *rsa.PublicKey:
		return rsa.VerifyPKCS1v15(k, crypto.SHA256, sum[:], sig) == nil
	case *ecdsa.PublicKey:
		return ecdsa.VerifyASN1(k, sum[:], sig)
	case ed25519.PublicKey:
		return ed25519.Verify(k, msg, sig)
	}
	return false
}

func TestKeysSign(t *testing.T) {
	keys := testKeys()
	tests := []struct{ key, form string }{
		{"rsa", "pkcs8"}, {"rsa", "pkcs1"}, {"ecdsa", "pkcs8"}, {"ecdsa", "sec1"}, {"ed25519", "pkcs8"},
	}
	for _, tc := range tests {
		t.Run(tc.key+"/"+tc.form, func(t *testing.T) {
			secrets := map[string]string{"pk": "secret/p#pk@2"}
			store := &memStore{vals: map[string]string{"secret/p#pk": pemOf(t, keys[tc.key], tc.form)}, version: 2}
			k := NewKeys(store, refsOf(t, secrets))
			for range 3 { // the second and third use hit the parsed-key cache
				x := exchange(t, store, secrets, jsonRequest(""))
				sig, err := k.Sign(context.Background(), x, "pk", "sha256", []byte("msg"))
				if err != nil {
					t.Fatal(err)
				}
				if !verify(keys[tc.key].Public(), []byte("msg"), sig) {
					t.Fatal("signature does not verify")
				}
				if len(x.Used) != 1 || x.Used[0] != (KeyUse{Name: "pk", Ref: "secret/p#pk@2", Version: 2}) {
					t.Fatalf("used %+v", x.Used)
				}
			}
			if n := len(k.(*keySet).parsed.keys); n != 1 {
				t.Fatalf("%d parsed keys cached, want 1", n)
			}
		})
	}
}

func TestKeysFailures(t *testing.T) {
	secrets := map[string]string{"pk": "secret/p#pk", "tr": "transit:transit/k", "gone": "secret/p#gone"}
	badPEM := "-----BEGIN PRIVATE KEY-----\nTUlJQ0VFTk9UQUtFWQ==\n-----END PRIVATE KEY-----\n"
	store := &memStore{vals: map[string]string{"secret/p#pk": badPEM}}
	k := NewKeys(store, refsOf(t, secrets))
	ctx := context.Background()
	x := exchange(t, store, secrets, jsonRequest(""))
	tests := []struct {
		name  string
		call  func() error
		kind  failure.Kind
		stage string
	}{
		{"unknown name", func() error { _, err := k.Secret(ctx, x, "nope"); return err }, failure.Internal, "sign"},
		{"bad PEM", func() error { _, err := k.Sign(ctx, x, "pk", "sha256", nil); return err }, failure.Internal, "sign"},
		{"not PEM at all", func() error {
			store.vals["secret/p#pk"] = "garbage"
			_, err := k.Sign(ctx, x, "pk", "sha256", nil)
			return err
		}, failure.Internal, "sign"},
		{"transit bytes", func() error { _, err := k.Secret(ctx, x, "tr"); return err }, failure.Internal, "sign"},
		{"transit without a transit store", func() error { _, err := k.HMAC(ctx, x, "tr", "sha256", nil); return err }, failure.Internal, "sign"},
		{"keystore error", func() error { _, err := k.HMAC(ctx, x, "gone", "sha256", nil); return err }, failure.Unavailable, "keystore"},
		{"unknown hash", func() error { _, err := k.HMAC(ctx, x, "pk", "md5", nil); return err }, failure.Internal, "sign"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			wantKind(t, err, tc.kind, tc.stage)
			if strings.Contains(err.Error(), "TUlJ") || strings.Contains(err.Error(), "garbage") {
				t.Fatal("the error holds key material")
			}
		})
	}
}

func TestKeysTransit(t *testing.T) {
	rsaKey := testKeys()["rsa"].(*rsa.PrivateKey)
	ts := &transitStore{hmacKeys: map[string][]byte{"transit/h": []byte("k")}, rsaKeys: map[string]*rsa.PrivateKey{"transit/r": rsaKey}}
	secrets := map[string]string{"h": "transit:transit/h", "r": "transit:transit/r"}
	k := NewKeys(ts, refsOf(t, secrets))
	x := exchange(t, ts, secrets, jsonRequest(""))
	mac, err := k.HMAC(context.Background(), x, "h", "sha256", []byte("d"))
	if err != nil {
		t.Fatal(err)
	}
	want := hmac.New(sha256.New, []byte("k"))
	want.Write([]byte("d"))
	if !hmac.Equal(mac, want.Sum(nil)) {
		t.Fatal("transit HMAC differs")
	}
	sig, err := k.Sign(context.Background(), x, "r", "sha256", []byte("d"))
	if err != nil || !verify(rsaKey.Public(), []byte("d"), sig) {
		t.Fatalf("transit sign: %v", err)
	}
	if ts.calls != 2 || ts.gets != 0 || len(x.Used) != 2 || x.Used[0].Ref != "transit:transit/h" {
		t.Fatalf("calls %d gets %d used %+v", ts.calls, ts.gets, x.Used)
	}
}

// TestExchangeReadsEachKeyOnce: the steps and both phases of one exchange use one version of
// each key, read from the keystore once, and the audit record lists each key once. A new
// exchange reads again and sees a rotation.
func TestExchangeReadsEachKeyOnce(t *testing.T) {
	store := &memStore{vals: map[string]string{"secret/p#k": "v1"}, version: 1}
	secrets := map[string]string{"k": "secret/p#k"}
	x := exchange(t, store, secrets, jsonRequest(`{}`))
	ctx := context.Background()
	first, err := x.Keys.Secret(ctx, x, "k")
	if err != nil {
		t.Fatal(err)
	}
	store.vals["secret/p#k"], store.version = "v2", 2 // rotated between the phases
	again, _ := x.Keys.Secret(ctx, x, "k")
	if string(again.Reveal()) != string(first.Reveal()) || store.gets != 1 || len(x.Used) != 1 || x.Used[0].Version != 1 {
		t.Fatalf("second read: same value %v, keystore gets %d, used %v", string(again.Reveal()) == string(first.Reveal()), store.gets, x.Used)
	}
	next := exchange(t, store, secrets, jsonRequest(`{}`))
	if v, _ := next.Keys.Secret(ctx, next, "k"); string(v.Reveal()) != "v2" {
		t.Fatal("a new exchange did not see the rotated key")
	}
}

// peekStore is a memStore that can answer without waiting (keystore.Peeker) for the names in
// ready, and counts the answers.
type peekStore struct {
	memStore
	ready map[string]bool
	peeks int
}

func (p *peekStore) Peek(ref keystore.Ref) (keystore.Secret, bool) {
	if !p.ready[ref.Unversioned().String()] {
		return keystore.Secret{}, false
	}
	p.peeks++
	v := p.vals[ref.Unversioned().String()]
	return keystore.Secret{Value: secret.FromString(v), Version: p.version}, true
}

// TestSecretIfReadyIsSecretWithoutTheWait: SecretIfReady answers what Secret would (the
// exchange's memo first, then a fresh cached value), records the use once for the audit, and
// declines (for Secret to answer or explain) an uncached key, a Transit key, an undeclared
// name and a store that cannot peek.
func TestSecretIfReadyIsSecretWithoutTheWait(t *testing.T) {
	store := &peekStore{memStore: memStore{vals: map[string]string{"secret/p#k": "v1", "secret/p#cold": "c"}, version: 1},
		ready: map[string]bool{"secret/p#k": true}}
	secrets := map[string]string{"k": "secret/p#k", "cold": "secret/p#cold", "tr": "transit:transit/h"}
	x := exchange(t, &store.memStore, secrets, jsonRequest(`{}`))
	x.Keys = NewKeys(store, refsOf(t, secrets))
	rk := x.Keys.(ReadyKeys)
	v, ok := rk.SecretIfReady(x, "k")
	if !ok || string(v.Reveal()) != "v1" || store.gets != 0 || store.peeks != 1 {
		t.Fatalf("cached key: ok %v, gets %d, peeks %d", ok, store.gets, store.peeks)
	}
	store.vals["secret/p#k"], store.version = "v2", 2 // rotated: the exchange keeps its first read
	if v, ok := rk.SecretIfReady(x, "k"); !ok || string(v.Reveal()) != "v1" || store.peeks != 1 {
		t.Fatalf("second read: ok %v, peeks %d, same value %v", ok, store.peeks, string(v.Reveal()) == "v1")
	}
	if v, err := x.Keys.Secret(context.Background(), x, "k"); err != nil || string(v.Reveal()) != "v1" || store.gets != 0 {
		t.Fatalf("Secret after SecretIfReady: err %v, gets %d", err, store.gets)
	}
	if len(x.Used) != 1 || x.Used[0] != (KeyUse{Name: "k", Ref: "secret/p#k", Version: 1}) {
		t.Fatalf("used %+v, want k once", x.Used)
	}
	for _, name := range []string{"cold", "tr", "undeclared"} {
		if _, ok := rk.SecretIfReady(x, name); ok {
			t.Errorf("%s: answered without the keystore", name)
		}
	}
	plain := NewKeys(&memStore{vals: store.vals, version: 1}, refsOf(t, secrets)).(ReadyKeys)
	if _, ok := plain.SecretIfReady(exchange(t, &store.memStore, secrets, jsonRequest(`{}`)), "k"); ok {
		t.Error("a store without Peek answered")
	}
	if len(x.Used) != 1 {
		t.Fatalf("declined reads were recorded: %+v", x.Used)
	}
}
