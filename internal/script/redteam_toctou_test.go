package script

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
)

func gcmSeal(t *testing.T, pt string) []byte {
	t.Helper()
	blk, err := aes.NewCipher([]byte(testSecrets["aes_key"]))
	if err != nil {
		t.Fatal(err)
	}
	aead, err := cipher.NewGCMWithNonceSize(blk, len(testSecrets["aes_iv"]))
	if err != nil {
		t.Fatal(err)
	}
	return aead.Seal(nil, []byte(testSecrets["aes_iv"]), []byte(pt), nil)
}

// TestRedTeamCiphertextChangedAfterTheProvenanceCheck: a Uint8Array ciphertext is checked
// where it lies, in the script's memory. aes_gcm_decrypt read its additional data after the
// check, and reading it ran the script (an own byteLength getter on a Uint8Array), which
// rewrote the checked ciphertext into one the script had sealed itself under the secret nonce:
// decrypted, the provider-ciphertext rule bypassed. Each argument of both decryptions now has
// been read before the check. CBC's ciphertext, rewritten by its own getter, is checked as
// rewritten (refused); the provider's own still decrypts.
func TestRedTeamCiphertextChangedAfterTheProvenanceCheck(t *testing.T) {
	const mineCBC = `var mine = new Uint8Array(aes_cbc_pkcs5_encrypt(AesKey, "chosen-plaintext", AesIV));`
	const mineGCM = `var mine = new Uint8Array(aes_gcm_encrypt(AesKey, "chosen-plaintext", AesIV));`
	for _, c := range []struct {
		name, mine, call, sent string
		refused                bool
	}{
		{"gcm, additional data's getter", mineGCM, `aes_gcm_decrypt(AesKey, ct, AesIV, trap(new Uint8Array(0)))`, base64.StdEncoding.EncodeToString(gcmSeal(t, "provider-answer!")), true},
		{"gcm, additional data's getter, nothing swapped", "var mine = null;", `aes_gcm_decrypt(AesKey, ct, AesIV, trap(new Uint8Array(0)))`, base64.StdEncoding.EncodeToString(gcmSeal(t, "provider-answer!")), false},
		{"cbc, the ciphertext's own getter", mineCBC, `aes_cbc_pkcs5_decrypt(AesKey, trap(ct), AesIV)`, base64.StdEncoding.EncodeToString(cbcEncrypt([]byte(testSecrets["aes_key"]), []byte(testSecrets["aes_iv"]), []byte("provider-answer!"))), true},
	} {
		src := reqHead + "}" + respHead + c.mine + `
  var ct = new Uint8Array(base64_decode(respBody.data));
  function trap(a) {
    Object.defineProperty(a, "byteLength", {get: function () { if (mine) { ct.set(mine) } return a.length }});
    return a;
  }
  respBody.out = ` + c.call + `;
}`
		step := compileInline(t, src, Options{})
		x := newExchange("/pay", `{}`, &fakeTokens{})
		if err := step.SignRequest(context.Background(), x); err != nil {
			t.Fatal(err)
		}
		x.Response = &signerResponse{Status: 200, Header: http.Header{}, Body: []byte(`{"data":"` + c.sent + `"}`)}
		err := step.ProcessResponse(context.Background(), x)
		if strings.Contains(string(x.Response.Body), "chosen-plaintext") {
			t.Errorf("%s: a ciphertext the script sealed itself decrypted under the secret IV", c.name)
		}
		if c.refused && (err == nil || !strings.Contains(err.Error(), "only a ciphertext the provider sent")) {
			t.Errorf("%s: err %v, want the provider-ciphertext refusal", c.name, err)
		}
		if !c.refused && (err != nil || !strings.Contains(string(x.Response.Body), "provider-answer!")) {
			t.Errorf("%s: the provider's own: err %v", c.name, err)
		}
	}
}
