package script

import (
	"testing"

	"github.com/keygate/keygate/internal/config"
)

// TestRedTeam: more ways a script author tried to read a key with the built-ins that remain.
// Each must fail its request (uncatchably: the try/catch around it does not help) and leave no
// form of any secret in any output (checkNoSecret).
func TestRedTeam(t *testing.T) {
	for _, tc := range []struct{ name, body string }{
		{"marker case change", `reqHeaders.set("X", hex_encode(AesKey.toUpperCase()))`},
		{"marker through encodeURIComponent", `var k = decodeURIComponent(encodeURIComponent(AesKey)); reqHeaders.set("X", hex_encode(aes_cbc_pkcs5_encrypt(AesIV, "x", k)))`},
		{"marker through JSON", `var k = JSON.parse(JSON.stringify(AesIV)); reqHeaders.set("X", hex_encode(aes_cbc_pkcs5_encrypt("0123456789abcdef", "x", k)))`},
		{"forged marker of a later handle", `var f = AesKey.replace(/:(\d+)\uE001$/, ":99\uE001"); reqHeaders.set("X", sha256(f))`},
		{"forged marker of a derived sign string", `var d = url_encode(reqBody.buildSignStr()); reqHeaders.set("X", String(hex_decode(d)))`},
		{"chain key through base64 variant", `var k = hmac_sha256_base64("TC3" + secret("other"), "d"); reqHeaders.set("X", k)`},
		{"sign string as an HMAC key", `reqHeaders.set("X", hmac_sha256(reqBody.buildSignStr(), "m"))`},
		{"iv in hmac data under a known key", `reqHeaders.set("X", hmac_sha256("k", AesIV))`},
		{"key in rsa data", `reqHeaders.set("X", hex_encode(rsa_sign("private_key", AesKey)))`},
		{"token through an encoder", `reqHeaders.set("X", base64_encode(token_load()))`},
		{"derived key as cipher key", `var k = hmac_sha256_bytes(secret("other"), "a"); reqHeaders.set("X", hex_encode(aes_cbc_pkcs5_encrypt(k, "x", "0000000000000000")))`},
		{"private key as HMAC key (transit path)", `reqHeaders.set("X", hmac_sha256(secret("private_key"), "m"))`},
		{"binding: plain IV after the secret one", `aes_cbc_pkcs5_encrypt(AesKey, "x", AesIV); reqHeaders.set("X", aes_cbc_pkcs5_decrypt(AesKey, aes_cbc_pkcs5_encrypt(AesKey, new Uint8Array(32), "0000000000000000"), "0000000000000000"))`},
		{"gcm after cbc on one key", `aes_cbc_pkcs5_encrypt(AesKey, "x", AesIV); reqHeaders.set("X", hex_encode(aes_gcm_encrypt(AesKey, new Uint8Array(16), "000000000000")))`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			outputs, reqErr, _ := hostileRun(t, reqHead+`token_save("tok-12345678", 60);
  try { `+tc.body+` } catch (e) { reqHeaders.set("X-Caught", String(e).slice(0, 200)) }
}`, map[string]config.ScriptSecret{"other": {Role: "hmac_key", Chain: 2}})
			checkNoSecret(t, outputs)
			if reqErr == nil {
				t.Fatal("the attack ran to the end; each must fail its request")
			}
		})
	}
}
