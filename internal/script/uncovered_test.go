package script

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/internal/failure"
	"github.com/keygate/keygate/internal/secret"
	"github.com/keygate/keygate/signer"
)

// The tests below cover lines the mutation run found no test running (docs/mutation.md).

// TestUUIDOfKeepsOnlyAUUID: a pinned nonce that is a UUID (either case) is uuid() as it is;
// anything else of its length is not a UUID and is turned into one.
func TestUUIDOfKeepsOnlyAUUID(t *testing.T) {
	for in, keep := range map[string]bool{
		"123e4567-e89b-42d3-a456-426614174000":  true,
		"123E4567-E89B-42D3-A456-426614174000":  true,
		"abcdef01-2345-6789-ABCD-ef0123456789":  true,
		"123e4567e89b-42d3-a456-4266141740000":  false, // a dash moved
		"123e4567-e89b-42d3-a456-42661417400g":  false, // not hex
		"123e4567-e89b-42d3-a456-42661417400":   false, // short
		"123e4567-e89b-42d3-a456-4266141740000": false, // long
		"123e4567-e89b-42d3-a456_426614174000":  false,
		"/23e4567-e89b-42d3-a456-426614174000":  false, // '/' is just below '0'
		":23e4567-e89b-42d3-a456-426614174000":  false, // ':' just above '9'
		"`23e4567-e89b-42d3-a456-426614174000":  false, // '`' just below 'a'
		"g23e4567-e89b-42d3-a456-426614174000":  false, // 'g' just above 'f'
		"@23e4567-e89b-42d3-a456-426614174000":  false, // '@' just below 'A'
		"G23e4567-e89b-42d3-a456-426614174000":  false, // 'G' just above 'F'
	} {
		got := uuidOf(in)
		if (got == in) != keep || !isUUID(got) {
			t.Errorf("uuidOf(%q) = %q, want it kept: %v", in, got, keep)
		}
	}
}

// TestTokenSaveExpiryForms: token_save's expireTime is milliseconds since the epoch above 1e12,
// seconds since the epoch above 1e9, and a lifetime in seconds otherwise.
func TestTokenSaveExpiryForms(t *testing.T) {
	for _, tc := range []struct {
		arg  string
		want time.Time
	}{
		{"1800000000000", time.UnixMilli(1800000000000)},
		{"1800000000", time.Unix(1800000000, 0)},
		{"1000000000001", time.UnixMilli(1000000000001)},
		{"1000000001", time.Unix(1000000001, 0)},
		{"1000000000", pinned.Add(1000000000 * time.Second)},
		{"7200", pinned.Add(2 * time.Hour)},
		{"0.5", pinned.Add(500 * time.Millisecond)},
	} {
		tokens := &fakeTokens{}
		step := compileInline(t, reqHead+`token_save("tok-abc", `+tc.arg+`);
}`, Options{TokenURL: "http://127.0.0.1:9/token"})
		if err := step.SignRequest(context.Background(), newExchange("/p", `{}`, tokens)); err != nil {
			t.Fatalf("%s: %v", tc.arg, err)
		}
		if !tokens.expiry.Equal(tc.want) {
			t.Errorf("token_save(…, %s): expiry %v, want %v", tc.arg, tokens.expiry, tc.want)
		}
	}
}

// TestSetParamReplacesTheFirstAndDropsRepeats: reqParams.set replaces a parameter given twice
// by one pair where the first stood, and keeps every other pair in its place.
func TestSetParamReplacesTheFirstAndDropsRepeats(t *testing.T) {
	step := compileInline(t, reqHead+`reqParams.set("a", "n w");
}`, Options{})
	x := newExchange("/p?z=1&a=1&b=2&a=3&%61=4", `{}`, nil)
	if err := step.SignRequest(context.Background(), x); err != nil {
		t.Fatal(err)
	}
	if _, q, _ := strings.Cut(x.Request.Path, "?"); q != "z=1&a=n%20w&b=2" {
		t.Fatalf("query %q, want z=1&a=n%%20w&b=2", q)
	}
}

// downKeys is a keystore that is down: every read and every computation fails.
type downKeys struct{}

var errDown = errors.New("vault: connection refused")

func (downKeys) Secret(context.Context, *signer.Exchange, string) (secret.Value, error) {
	return secret.Value{}, errDown
}

func (downKeys) HMAC(context.Context, *signer.Exchange, string, string, []byte) ([]byte, error) {
	return nil, errDown
}

func (downKeys) Sign(context.Context, *signer.Exchange, string, string, []byte) ([]byte, error) {
	return nil, errDown
}

// TestKeystoreDownFailsTheScriptClosed: a key that cannot be read, or an HMAC or signature the
// keystore cannot compute, fails the request 503 (stage keystore) naming the key, whatever the
// script catches; nothing is signed.
func TestKeystoreDownFailsTheScriptClosed(t *testing.T) {
	for _, tc := range []struct{ body, msg string }{
		{`reqHeaders.set("X", base64_encode(aes_cbc_pkcs5_encrypt(AesKey, "x", AesIV)))`, "secret aes_key"},
		{`reqHeaders.set("X", hmac_sha256(secret("other"), "m"))`, "secret other"},
		{`reqHeaders.set("X", base64_encode(rsa_sign("private_key", "m", "sha256")))`, "rsa_sign with private_key"},
		{`try { hmac_sha256(secret("other"), "m") } catch (e) {} reqHeaders.set("X", "unsigned")`, "secret other"},
	} {
		step := compileInline(t, reqHead+tc.body+"\n}", Options{})
		x := newExchange("/p", `{}`, nil)
		x.Keys = downKeys{}
		err := step.SignRequest(context.Background(), x)
		if failure.KindOf(err) != failure.Unavailable || failure.StageOf(err) != "keystore" || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s: err %v (kind %v, stage %s), want 503 at stage keystore naming %q", tc.body, err, failure.KindOf(err), failure.StageOf(err), tc.msg)
		}
	}
}

// TestDerivedMaterialIsNamedAsSuch: an HMAC chain key used where it does not go is refused as
// material derived from its secret, not as the secret itself.
func TestDerivedMaterialIsNamedAsSuch(t *testing.T) {
	_, err, _ := hostileRun(t, reqHead+`var k = hmac_sha256_bytes(secret("other"), "20240101");
  reqHeaders.set("X", sha256(k));
}`, map[string]config.ScriptSecret{"other": {Role: "hmac_key", Chain: 2}})
	if err == nil || !strings.Contains(err.Error(), "material derived from secret other") {
		t.Fatalf("err %v, want the derived material named", err)
	}
}

// TestHTTPPostHeaderNameMayNotHoldAKey: a key in an http_post_* header name is a violation like
// one in its value.
func TestHTTPPostHeaderNameMayNotHoldAKey(t *testing.T) {
	step := compileInline(t, reqHead+`var h = {}; h[AesKey] = "1"; http_post_json(TokenUrl, {}, h);
}`, Options{TokenURL: "http://127.0.0.1:9/token"})
	err := step.SignRequest(context.Background(), newExchange("/p", `{}`, nil))
	if err == nil || !strings.Contains(err.Error(), "http_post_json header name") {
		t.Fatalf("err %v, want the header name refused", err)
	}
}

// computeDownKeys read keys but cannot compute with them (a Transit outage after the read).
type computeDownKeys struct{ fakeKeys }

func (computeDownKeys) HMAC(context.Context, *signer.Exchange, string, string, []byte) ([]byte, error) {
	return nil, errDown
}

// TestKeystoreComputeFailureFailsClosed: an HMAC the keystore cannot compute fails the request
// 503 whatever the script catches.
func TestKeystoreComputeFailureFailsClosed(t *testing.T) {
	step := compileInline(t, reqHead+`try { hmac_sha256(secret("other"), "m") } catch (e) {} reqHeaders.set("X", "unsigned");
}`, Options{})
	x := newExchange("/p", `{}`, nil)
	x.Keys = &computeDownKeys{}
	err := step.SignRequest(context.Background(), x)
	if failure.KindOf(err) != failure.Unavailable || !strings.Contains(err.Error(), "hmac with other") {
		t.Fatalf("err %v, want 503 naming the HMAC", err)
	}
}

// TestUUIDOfANonce: 32 hex characters (the system clock's nonce) are the UUID's bytes, with the
// version 4 and variant bits set; any other nonce is hashed first.
func TestUUIDOfANonce(t *testing.T) {
	for in, want := range map[string]string{
		"00112233445566778899aabbccddeeff":   "00112233-4455-4677-8899-aabbccddeeff",
		"ffffffffffffffffffffffffffffffff":   "ffffffff-ffff-4fff-bfff-ffffffffffff",
		"00112233445566778899aabbccddee":     hashedUUID("00112233445566778899aabbccddee"), // 15 bytes
		"00112233445566778899aabbccddeeffgg": hashedUUID("00112233445566778899aabbccddeeffgg"),
		"n0nce":                              hashedUUID("n0nce"),
	} {
		if got := uuidOf(in); got != want {
			t.Errorf("uuidOf(%q) = %s, want %s", in, got, want)
		}
	}
}

// hashedUUID is the version 4 UUID of the first 16 bytes of s's SHA-256, computed apart from
// uuidOf.
func hashedUUID(s string) string {
	sum := sha256.Sum256([]byte(s))
	h := hex.EncodeToString(sum[:16])
	v := "4" + h[13:16]
	w := fmt.Sprintf("%x", (sum[8]&0x3f)|0x80) + h[18:20]
	return h[0:8] + "-" + h[8:12] + "-" + v + "-" + w + "-" + h[20:32]
}

// TestPlainIVSizeErrorTellsTheSize: a wrong-size IV the script knows is a catchable TypeError
// that tells its size (the script knows it anyway); a secret's size is never told.
func TestPlainIVSizeErrorTellsTheSize(t *testing.T) {
	step := compileInline(t, reqHead+`try { aes_cbc_pkcs5_encrypt("0123456789abcdef", "x", "short-iv-15byte") } catch (e) { reqHeaders.set("X-Err", String(e)) }
}`, Options{})
	x := newExchange("/p", `{}`, nil)
	if err := step.SignRequest(context.Background(), x); err != nil {
		t.Fatal(err)
	}
	if got := x.Request.Header.Get("X-Err"); !strings.Contains(got, "the IV must be 16 bytes, got 15 bytes") {
		t.Fatalf("error %q, want the IV's size told", got)
	}
}

// TestRevealedKeyBytesAreWiped: the bytes of a secret revealed for a computation (a cipher's
// key and IV, an HMAC key joined from text and a secret) are cleared once it is done.
func TestRevealedKeyBytesAreWiped(t *testing.T) {
	var mu sync.Mutex
	var wiped []string
	testHookWipe = func(b []byte) { mu.Lock(); wiped = append(wiped, string(b)); mu.Unlock() }
	t.Cleanup(func() { testHookWipe = nil })
	for _, tc := range []struct {
		call  string
		names []string // what must have been wiped, by name; the values never printed
		vals  []string
	}{
		{`aes_cbc_pkcs5_encrypt(AesKey, "x", AesIV)`, []string{"the AES key", "the IV"}, []string{testSecrets["aes_key"], testSecrets["aes_iv"]}},
		{`hmac_sha256("AWS4" + secret("aws_secret"), "x")`, []string{"the joined HMAC key"}, []string{"AWS4" + testSecrets["aws_secret"]}},
	} {
		mu.Lock()
		wiped = nil
		mu.Unlock()
		step := compileInline(t, reqHead+"reqHeaders.set(\"X\", String("+tc.call+").length);\n}", Options{})
		if err := step.SignRequest(context.Background(), newExchange("/p", `{}`, nil)); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		for i, v := range tc.vals {
			if !slices.Contains(wiped, v) {
				t.Errorf("%s: %s was not wiped", tc.call, tc.names[i])
			}
		}
		mu.Unlock()
	}
}

// TestMathRandomIsInZeroOne: Math.random stays in [0, 1) (its stream is seeded per invocation).
func TestMathRandomIsInZeroOne(t *testing.T) {
	step := compileInline(t, reqHead+`var ok = true; for (var i = 0; i < 1000; i++) { var r = Math.random(); if (!(r >= 0 && r < 1)) { ok = false } }
  reqHeaders.set("X-Ok", String(ok));
}`, Options{})
	x := newExchange("/p", `{}`, nil)
	if err := step.SignRequest(context.Background(), x); err != nil || x.Request.Header.Get("X-Ok") != "true" {
		t.Fatalf("err %v, Math.random in [0, 1): %s", err, x.Request.Header.Get("X-Ok"))
	}
}

// TestTokenSaveRefusesAZeroLifetime: a token that expires now is not a token to save.
func TestTokenSaveRefusesAZeroLifetime(t *testing.T) {
	step := compileInline(t, reqHead+`token_save("tok-abc", 0);
}`, Options{TokenURL: "http://127.0.0.1:9/token"})
	err := step.SignRequest(context.Background(), newExchange("/p", `{}`, &fakeTokens{}))
	if err == nil || !strings.Contains(err.Error(), "expireTime must be a positive number") {
		t.Fatalf("err %v, want zero refused", err)
	}
}

// TestTokenEndpointStatusOutside2xxIsRefused: http_post_* answers only a 2xx; 299 is the last.
func TestTokenEndpointStatusOutside2xxIsRefused(t *testing.T) {
	for status, ok := range map[int]bool{200: true, 299: true, 300: false} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(status)
			_, _ = w.Write([]byte(`{"token":"t"}`))
		}))
		step := compileInline(t, reqHead+`http_post_json(TokenUrl, {}, {});
}`, Options{TokenURL: srv.URL + "/token"})
		err := step.SignRequest(context.Background(), newExchange("/p", `{}`, nil))
		srv.Close()
		if (err == nil) != ok {
			t.Errorf("status %d: err %v, want accepted %v", status, err, ok)
		}
	}
}

// TestEncodedSignStringNamesItsSecret: an encoded sign string keeps its secret's name, so a
// refused use names that secret.
func TestEncodedSignStringNamesItsSecret(t *testing.T) {
	step := compileInline(t, reqHead+`reqHeaders.set("X", aes_cbc_pkcs5_encrypt(url_encode("p" + secret("app_secret")), "x", "0000000000000000"));
}`, Options{})
	err := step.SignRequest(context.Background(), newExchange("/p", `{}`, nil))
	if err == nil || !strings.Contains(err.Error(), "secret app_secret") {
		t.Fatalf("err %v, want the refusal to name secret app_secret", err)
	}
}

// TestSourceAtTheLimitCompiles: a script of exactly MaxSourceBytes is within the limit; one
// byte more is refused.
func TestSourceAtTheLimitCompiles(t *testing.T) {
	head := "function f(){return 1}\n"
	at := head + strings.Repeat("/", MaxSourceBytes-len(head)-1) + "\n"
	if len(at) != MaxSourceBytes {
		t.Fatalf("built %d bytes", len(at))
	}
	if _, err := Compile(config.Script{Inline: at}, testBuild(t), Options{}); err != nil {
		t.Fatalf("a script of exactly the limit: %v", err)
	}
	if _, err := Compile(config.Script{Inline: at + "\n"}, testBuild(t), Options{}); err == nil {
		t.Fatal("a script one byte over the limit compiled")
	}
}

// TestThrownMessageAtTheLimitIsWhole: a thrown message of exactly maxMessage bytes is kept
// whole; a longer one is cut and marked.
func TestThrownMessageAtTheLimitIsWhole(t *testing.T) {
	for n, cut := range map[int]bool{maxMessage: false, maxMessage + 1: true} {
		step := compileInline(t, reqHead+`throw "`+strings.Repeat("m", n)+`"
}`, Options{})
		err := step.SignRequest(context.Background(), newExchange("/p", `{}`, nil))
		if err == nil || strings.Contains(err.Error(), "…") != cut || strings.Contains(err.Error(), strings.Repeat("m", n)) == cut {
			t.Errorf("a %d-byte message: err %v, want cut %v", n, err, cut)
		}
	}
}

// TestAbsentFieldTurnsAnInternalFailureIntoTheCallersMistake: when the script read a body field
// the request does not have and then fails in a built-in (here token_save without a token
// source), the failure is the caller's (400 naming the field), not keygate's.
func TestAbsentFieldTurnsAnInternalFailureIntoTheCallersMistake(t *testing.T) {
	step := compileInline(t, reqHead+`var v = reqBody.get("orderId"); token_save("x" + v, 60);
}`, Options{})
	err := step.SignRequest(context.Background(), newExchange("/p", `{}`, nil))
	if failure.KindOf(err) != failure.BadRequest || !strings.Contains(err.Error(), `no body field "orderId"`) {
		t.Fatalf("err %v (kind %v), want 400 naming the absent field", err, failure.KindOf(err))
	}
}

// TestRequestObjectsAreFrozen: the request objects a script receives are frozen like the
// global object: replacing a method does nothing (sloppy mode) or throws (strict mode).
func TestRequestObjectsAreFrozen(t *testing.T) {
	step := compileInline(t, reqHead+`reqHeaders.get = 1; reqParams.set = 1; reqBody.get = 1;
  reqHeaders.set("X", typeof reqHeaders.get + typeof reqParams.set + typeof reqBody.get);
}`, Options{})
	x := newExchange("/p", `{}`, nil)
	if err := step.SignRequest(context.Background(), x); err != nil {
		t.Fatal(err)
	}
	if got := x.Request.Header.Get("X"); got != "functionfunctionfunction" {
		t.Fatalf("after replacing methods: %q, want them unchanged", got)
	}
}
