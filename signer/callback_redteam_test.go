package signer

import (
	"context"
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"
	"testing"

	"github.com/keygate/keygate/internal/failure"
)

// Red team of wechatpay_v3_callback (issue 22): a captured genuine callback is delivered once;
// every variant of it an attacker can make without the platform key is refused.

const cbAPIv3Key = "0123456789abcdef0123456789abcdef"

func callbackStep(t *testing.T) (Step, *memStore, map[string]string, *rsa.PrivateKey) {
	t.Helper()
	key := testKeys()["rsa"].(*rsa.PrivateKey)
	secrets := map[string]string{"v3": "secret/p#v3", "plat": "secret/p#plat"}
	store := &memStore{vals: map[string]string{"secret/p#v3": cbAPIv3Key, "secret/p#plat": pemOf(t, key, "public")}}
	step := mustStep(t, "wechatpay_v3_callback", "{apiv3_key: v3, platform_keys: [{serial: P1, public_key: plat}]}", secrets, nil)
	return step, store, secrets, key
}

// genuineCallback is a notification signed with the platform key at the pinned clock's time.
func genuineCallback(t *testing.T, key *rsa.PrivateKey, nonce string) (body []byte, header http.Header) {
	t.Helper()
	block, _ := aes.NewCipher([]byte(cbAPIv3Key))
	g, _ := cipher.NewGCMWithNonceSize(block, 12)
	ct := g.Seal(nil, []byte("abcdefghijkl"), []byte(`{"transaction_id":"42"}`), []byte("transaction"))
	body, _ = json.Marshal(map[string]any{"id": "EV-1", "event_type": "TRANSACTION.SUCCESS",
		"resource": map[string]string{"algorithm": "AEAD_AES_256_GCM", "ciphertext": base64.StdEncoding.EncodeToString(ct),
			"associated_data": "transaction", "nonce": "abcdefghijkl"}})
	ts := strconv.FormatInt(pinned.Unix(), 10)
	sum := sha256.Sum256(wechatMessage(ts, nonce, body))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	header = http.Header{}
	header.Set("Wechatpay-Serial", "P1")
	header.Set("Wechatpay-Signature", base64.StdEncoding.EncodeToString(sig))
	header.Set("Wechatpay-Timestamp", ts)
	header.Set("Wechatpay-Nonce", nonce)
	header.Set("Content-Type", "application/json")
	return body, header
}

// TestCallbackReplayWithNonCanonicalBase64: an RSA-2048 signature is 256 bytes, whose base64
// ends in one byte and "==": the last character carries 4 bits the decoder ignores. Each of
// the 16 spellings decodes to the same signature, which verifies. The replay guard must know
// them for one callback, or a captured notification is delivered 16 times.
func TestCallbackReplayWithNonCanonicalBase64(t *testing.T) {
	step, store, secrets, key := callbackStep(t)
	body, header := genuineCallback(t, key, "n-replay-b64")
	send := func(h http.Header) error {
		x := exchange(t, store, secrets, NewRequest("POST", "https", "notify.example.com", "/", h.Clone(), body))
		return step.SignRequest(context.Background(), x)
	}
	if err := send(header); err != nil {
		t.Fatalf("genuine callback refused: %v", err)
	}
	sig := header.Get("Wechatpay-Signature")
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	last := sig[len(sig)-3] // the character before "=="
	hi := alphabet[alphabetIndex(alphabet, last)&^0x0f:]
	for i := range 16 {
		variant := sig[:len(sig)-3] + string(hi[i]) + "=="
		if variant == sig {
			continue
		}
		h := header.Clone()
		h.Set("Wechatpay-Signature", variant)
		err := send(h)
		if err == nil {
			t.Fatalf("replay with the signature spelled %q...%s was delivered again", variant[:8], variant[len(variant)-4:])
		}
		wantKind(t, err, failure.Forbidden, "callback")
	}
	// The verbatim replay, too.
	wantKind(t, send(header), failure.Forbidden, "callback")
}

func alphabetIndex(alphabet string, c byte) int {
	for i := range len(alphabet) {
		if alphabet[i] == c {
			return i
		}
	}
	return -1
}

// TestCallbackReplayVariantsRefused: other spellings of a captured callback's identity: a
// zero-padded or signed timestamp, the signature type header added or dropped.
func TestCallbackReplayVariantsRefused(t *testing.T) {
	step, store, secrets, key := callbackStep(t)
	body, header := genuineCallback(t, key, "n-replay-variants")
	send := func(h http.Header) error {
		x := exchange(t, store, secrets, NewRequest("POST", "https", "notify.example.com", "/", h.Clone(), body))
		return step.SignRequest(context.Background(), x)
	}
	if err := send(header); err != nil {
		t.Fatalf("genuine callback refused: %v", err)
	}
	ts := header.Get("Wechatpay-Timestamp")
	for name, mutate := range map[string]func(http.Header){
		"zero-padded timestamp": func(h http.Header) { h.Set("Wechatpay-Timestamp", "0"+ts) },
		"plus-signed timestamp": func(h http.Header) { h.Set("Wechatpay-Timestamp", "+"+ts) },
		"signature type added":  func(h http.Header) { h.Set("Wechatpay-Signature-Type", wechatAuthScheme) },
		"serial in lower case":  func(h http.Header) { h.Set("Wechatpay-Serial", "p1") },
		"verbatim":              func(http.Header) {},
	} {
		h := header.Clone()
		mutate(h)
		if err := send(h); err == nil {
			t.Errorf("%s: the replay was delivered again", name)
		}
	}
}

// TestCallbackReplayAcrossConfigVersions: every config version compiles its steps afresh, and a
// tenant's secret write re-applies the config (admin putSecret): had each version its own
// guard, any tenant could reopen the replay of every other tenant's captured callbacks at
// will. The guard of a callback provider outlives the version that built it.
func TestCallbackReplayAcrossConfigVersions(t *testing.T) {
	before, store, secrets, key := callbackStep(t)
	after, _, _, _ := callbackStep(t) // the same provider in the next config version
	body, header := genuineCallback(t, key, "n-replay-across-versions")
	send := func(step Step) error {
		x := exchange(t, store, secrets, NewRequest("POST", "https", "notify.example.com", "/", header.Clone(), body))
		return step.SignRequest(context.Background(), x)
	}
	if err := send(before); err != nil {
		t.Fatalf("genuine callback refused: %v", err)
	}
	wantKind(t, send(after), failure.Forbidden, "callback")
}
