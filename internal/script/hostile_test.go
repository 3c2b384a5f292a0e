package script

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/internal/failure"
)

// The attacks of issue 13, as a script author with script-writing rights would write them. Each
// one extracted a key, an IV or an app secret before secrets had roles; each must now fail its
// request (uncatchably) with an error naming the rule, and no output may hold a secret in any
// simple encoding (secretForms).

// hostileRun compiles src (with roles) and runs its request function and, if the script has
// one, its response function over a provider response holding one ciphertext the provider made
// under the real key and IV. It returns every output and the two errors.
func hostileRun(t *testing.T, src string, roles map[string]config.ScriptSecret) (outputs [][]byte, reqErr, respErr error) {
	t.Helper()
	logger, logBuf := captureLog()
	step, err := Compile(config.Script{Inline: src, Secrets: roles}, testBuild(t), Options{Logger: logger})
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	x := newExchange("/pay", `{"data":"hello"}`, &fakeTokens{})
	reqErr = step.SignRequest(context.Background(), x)
	outputs = append(outputs, []byte(x.Request.Path), []byte(headerText(x.Request.Header)), x.Request.Body())
	if step.respFn != "" {
		ct := cbcEncrypt([]byte(testSecrets["aes_key"]), []byte(testSecrets["aes_iv"]), []byte(`{"paid":true}`))
		x.Response = &signerResponse{Status: 200, Body: []byte(`{"data":"` + base64.StdEncoding.EncodeToString(ct) + `"}`)}
		respErr = step.ProcessResponse(context.Background(), x)
		outputs = append(outputs, x.Response.Body)
	}
	for _, e := range []error{reqErr, respErr} {
		if e != nil {
			outputs = append(outputs, []byte(e.Error()))
		}
	}
	return append(outputs, logBuf.Bytes()), reqErr, respErr
}

// secretForms are the simple encodings of a secret a hostile script could print: raw, hex
// (both cases), base64 (std, url, unpadded), each also reversed, and raw and hex XORed with
// every one-byte constant the script could have chosen.
func secretForms(v []byte) [][]byte {
	rev := func(b []byte) []byte {
		r := bytes.Clone(b)
		for i, j := 0, len(r)-1; i < j; i, j = i+1, j-1 {
			r[i], r[j] = r[j], r[i]
		}
		return r
	}
	var out [][]byte
	add := func(b []byte) {
		for _, f := range []string{string(b), hex.EncodeToString(b), strings.ToUpper(hex.EncodeToString(b)),
			base64.StdEncoding.EncodeToString(b), base64.RawStdEncoding.EncodeToString(b), base64.RawURLEncoding.EncodeToString(b)} {
			out = append(out, []byte(f), rev([]byte(f)))
		}
	}
	add(v)
	add(rev(v))
	for c := 1; c < 256; c++ {
		x := make([]byte, len(v))
		for i := range v {
			x[i] = v[i] ^ byte(c)
		}
		out = append(out, x, []byte(hex.EncodeToString(x)))
	}
	return out
}

// checkNoSecret fails when any output holds any form of any test secret. The output itself is
// never printed.
func checkNoSecret(t *testing.T, outputs [][]byte, extra ...[]byte) {
	t.Helper()
	vals := extra
	for _, v := range testSecrets {
		vals = append(vals, []byte(v))
	}
	for i, o := range outputs {
		for j, v := range vals {
			for _, f := range secretForms(v) {
				if len(f) > 0 && bytes.Contains(o, f) {
					t.Fatalf("output %d holds a form of secret %d (value withheld)", i, j)
				}
			}
		}
		if bytes.ContainsRune(o, markOpen) || bytes.ContainsRune(o, markClose) {
			t.Fatalf("output %d holds a marker", i)
		}
	}
}

func wantRefused(t *testing.T, err error, kind failure.Kind, msg string) {
	t.Helper()
	if err == nil || failure.KindOf(err) != kind || !strings.Contains(err.Error(), msg) {
		t.Fatalf("err = %v (kind %v), want %v containing %q", err, failure.KindOf(err), kind, msg)
	}
}

const respHead = "\nfunction (respBody, AppKey, AesKey, AesIV) {\n"

// TestAttackChosenCiphertextCBC (class 1): C1 = E_K(IV) from encrypting a zero block; then
// decrypting [0, C1, C2, C3] gives IV ^ 0 as the second block, with C2, C3 from the same
// encryption making the padding valid. Refused in the request function (no provider
// ciphertext there) and in the response function (a ciphertext the script built).
func TestAttackChosenCiphertextCBC(t *testing.T) {
	attack := `var e = new Uint8Array(aes_cbc_pkcs5_encrypt(AesKey, new Uint8Array(32), AesIV));
  var c = new Uint8Array(64); c.set(e, 16);
  var p = aes_cbc_pkcs5_decrypt(AesKey, c, AesIV).substring(16, 32);`
	outputs, reqErr, _ := hostileRun(t, reqHead+attack+"\nreqHeaders.set('X-Leak', p)\n}", nil)
	wantRefused(t, reqErr, failure.Internal, "decrypting under a secret IV is only for the provider's response")
	checkNoSecret(t, outputs)

	outputs, reqErr, respErr := hostileRun(t, reqHead+"}"+respHead+attack+"\nrespBody.leak = p\n}", nil)
	if reqErr != nil {
		t.Fatal(reqErr)
	}
	wantRefused(t, respErr, failure.Internal, "only a ciphertext the provider sent may be decrypted")
	checkNoSecret(t, outputs)
}

// TestAttackProviderCiphertextShifted: the provider's own ciphertext without its first block
// would be decrypted under the IV instead of the block before it; only whole strings count.
func TestAttackProviderCiphertextShifted(t *testing.T) {
	outputs, _, respErr := hostileRun(t, reqHead+"}"+respHead+`var c = new Uint8Array(base64_decode(respBody.data));
  respBody.data = aes_cbc_pkcs5_decrypt(AesKey, c.slice(16), AesIV);
}`, nil)
	wantRefused(t, respErr, failure.Internal, "only a ciphertext the provider sent")
	checkNoSecret(t, outputs)
}

// TestAttackPaddingOracle (class 2): a try/catch around a decryption under a secret key reads
// "valid padding?" per call. The failure now fails the request; the catch never runs.
func TestAttackPaddingOracle(t *testing.T) {
	outputs, reqErr, _ := hostileRun(t, reqHead+`var bit = "no";
  try { aes_cbc_pkcs5_decrypt(AesKey, new Uint8Array(16), new Uint8Array(16)) } catch (e) { bit = "caught" }
  reqHeaders.set("X-Bit", bit);
}`, nil)
	wantRefused(t, reqErr, failure.BadGateway, "bad padding")
	if failure.StageOf(reqErr) != "decrypt" || bytes.Contains(outputs[1], []byte("caught")) {
		t.Fatalf("stage %q; the script caught the failure", failure.StageOf(reqErr))
	}
	// The same under the secret IV, on the provider's data: also uncatchable.
	_, _, respErr := hostileRun(t, reqHead+"}"+respHead+`try { aes_gcm_decrypt(AesKey, base64_decode(respBody.data), AesIV) } catch (e) { respBody.bit = 1 }
}`, nil)
	if respErr == nil || bytes.Contains([]byte(respErr.Error()), []byte("bit")) {
		t.Fatalf("gcm under the bound key: err %v", respErr)
	}
	// A key the script knows may fail catchably: nothing secret is involved.
	outputs, reqErr, _ = hostileRun(t, reqHead+`var bit = "no";
  try { aes_cbc_pkcs5_decrypt("0123456789abcdef", new Uint8Array(16), new Uint8Array(16)) } catch (e) { bit = "caught" }
  reqHeaders.set("X-Bit", bit);
}`, nil)
	if reqErr != nil || !bytes.Contains(outputs[1], []byte("caught")) {
		t.Fatalf("plain key: err %v", reqErr)
	}
}

// TestAttackDerivedValues (class 3): AesIV + AesIV holds handles but its bytes are known once
// the IV is; it is not a key. The key used as an IV is refused by role as well.
func TestAttackDerivedValues(t *testing.T) {
	for _, tc := range []struct{ body, msg string }{
		{`aes_cbc_pkcs5_encrypt(AesIV + AesIV, new Uint8Array(16), AesKey)`, "aes_cbc_pkcs5_encrypt: the key does not take secret aes_iv (role iv)"},
		{`aes_cbc_pkcs5_encrypt("0123456789abcdef" + AesKey, "x", AesIV)`, "a secret key must be the secret alone"},
		{`aes_cbc_pkcs5_encrypt(AesKey, new Uint8Array(16), AesKey)`, "aes_cbc_pkcs5_encrypt: the IV does not take secret aes_key (role aes_key)"},
		{`aes_cbc_pkcs5_encrypt(secret("app_secret"), "x", "0000000000000000")`, "the key does not take secret app_secret (role sign_string)"},
		{`hmac_sha256(AesIV, "x")`, "hmac_sha256: the key does not take secret aes_iv (role iv)"},
		{`sha256(AesIV)`, "sha256: the data does not take secret aes_iv (role iv)"},
		{`hex_encode(url_encode(reqBody.buildSignStr()))`, "secret value reached header X-Leak"}, // still a sign string: a handle
		{`base64_decode(base64_encode(reqBody.buildSignStr()))`, "secret value reached base64_decode"},
		{`rsa_sign(secret("app_secret"), "x")`, "rsa_sign: the key does not take secret app_secret (role sign_string)"},
		{`hmac_sha256(token_load(), "x")`, "hmac_sha256: the key does not take a token (role token)"},
		{`hmac_sha256(secret("other") + secret("other"), "x")`, "the key holds more than one secret"},
		{`sha256(secret("other")); hmac_sha256(secret("other"), "x")`, "hmac_sha256: the key does not take secret other (role sign_string)"},
	} {
		t.Run(tc.body, func(t *testing.T) {
			outputs, reqErr, _ := hostileRun(t, reqHead+`token_save("tok-12345678", 60);
  try { var r = `+tc.body+`; reqHeaders.set("X-Leak", String(r)) } catch (e) { reqHeaders.set("X-Caught", String(e)) }
}`, nil)
			wantRefused(t, reqErr, failure.Internal, tc.msg)
			checkNoSecret(t, outputs)
		})
	}
}

// TestAttackSecretNonce (class 4): GHASH is linear in the nonce, so two encryptions under a
// key the script knows give the nonce. A secret nonce needs its own declared key.
func TestAttackSecretNonce(t *testing.T) {
	for _, tc := range []struct{ body, msg string }{
		{`aes_gcm_encrypt(AesIV + AesIV, "a", secret("app_secret"))`, "the key does not take secret aes_iv (role iv)"},
		{`aes_gcm_encrypt("0123456789abcdef", "a", secret("app_secret"))`, "the IV does not take secret app_secret (role sign_string)"},
		{`aes_gcm_encrypt(AesKey, "a", secret("app_secret"))`, "the IV does not take secret app_secret (role sign_string)"},
		{`aes_gcm_encrypt("0123456789abcdef", "a", AesIV)`, "the IV aes_iv is secret and the key is not"},
		{`aes_gcm_encrypt(secret("k2"), "a", AesIV)`, "the IV aes_iv goes with key aes_key, not k2"},
	} {
		t.Run(tc.body, func(t *testing.T) {
			outputs, reqErr, _ := hostileRun(t, reqHead+`try { reqHeaders.set("X-Leak", hex_encode(`+tc.body+`)) } catch (e) {}
}`, map[string]config.ScriptSecret{"k2": {Role: "aes_key"}})
			wantRefused(t, reqErr, failure.Internal, tc.msg)
			checkNoSecret(t, outputs)
		})
	}
}

// TestAttackHMACChain: a chain key of a declared chain is key material in every encoding; only
// the last HMAC's output is plain. The hex of kDate, which signs any request of that day, must
// not reach an output.
func TestAttackHMACChain(t *testing.T) {
	roles := map[string]config.ScriptSecret{"other": {Role: "hmac_key", Chain: 3}}
	for _, body := range []string{
		`hmac_sha256("TC3" + secret("other"), "2024-01-02")`,
		`hex_encode(hmac_sha256_bytes("TC3" + secret("other"), "2024-01-02"))`,
		`hmac_sha256_base64(hmac_sha256_bytes(secret("other"), "a"), "b")`,
		`sha256(hmac_sha256_bytes(secret("other"), "a"))`,
		`aes_cbc_pkcs5_encrypt(hmac_sha256_bytes(secret("other"), "a").slice(0, 16), "x", "0000000000000000")`,
	} {
		t.Run(body, func(t *testing.T) {
			outputs, reqErr, _ := hostileRun(t, reqHead+`reqHeaders.set("X-Leak", String(`+body+`))
}`, roles)
			if reqErr == nil {
				t.Fatal("a chain key reached an output")
			}
			checkNoSecret(t, outputs, derivedChain([]byte(testSecrets["other"]), "TC3"), derivedChain([]byte(testSecrets["other"]), ""))
		})
	}
}

// derivedChain is HMAC-SHA256(prefix+secret, "2024-01-02") and HMAC-SHA256(secret, "a"): the
// derived keys TestAttackHMACChain's scripts aim at.
func derivedChain(secret []byte, prefix string) []byte {
	if prefix != "" {
		return goHMAC(sha256.New, prefix+string(secret), "2024-01-02")
	}
	return goHMAC(sha256.New, string(secret), "a")
}
