package script

import (
	"bytes"
	"context"
	"encoding/base64"
	"strings"
	"testing"
)

// TestRedTeamScratchWipedWhenTheDecryptionFails: the decryption runs in the runtime's scratch
// buffer, and the pooled runtime keeps it for the next request. A decryption that fails after
// the blocks were decrypted (bad padding under a key the script knows: catchable), one whose
// script then throws, one under the secret IV refused for its provenance, and one larger than
// the kept size all leave the kept buffer zero: nothing of one request's plaintext waits in the
// runtime for the next.
func TestRedTeamScratchWipedWhenTheDecryptionFails(t *testing.T) {
	key, iv := "0123456789abcdef", "fedcba9876543210"
	good := base64.StdEncoding.EncodeToString(cbcEncrypt([]byte(key), []byte(iv), []byte(strings.Repeat("plaintext-of-request-one ", 40))))
	bad := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0x5a}, 4096)) // decrypts to noise with bad padding
	huge := base64.StdEncoding.EncodeToString(cbcEncrypt([]byte(key), []byte(iv), []byte(strings.Repeat("big", maxScratch/3+100))))
	for _, c := range []struct{ name, body string }{
		{"bad padding, caught", `try { aes_cbc_pkcs5_decrypt("` + key + `", base64_decode(reqBody.get("bad")), "` + iv + `") } catch (e) {}`},
		{"decrypted, then the script throws", `var p = aes_cbc_pkcs5_decrypt("` + key + `", base64_decode(reqBody.get("good")), "` + iv + `"); throw new Error("after " + p.length)`},
		{"more than the kept size", `aes_cbc_pkcs5_decrypt("` + key + `", base64_decode(reqBody.get("huge")), "` + iv + `")`},
		{"under the secret IV, refused", `aes_cbc_pkcs5_decrypt(AesKey, base64_decode(reqBody.get("good")), AesIV)`},
	} {
		step := compileInline(t, reqHead+c.body+"\n}", Options{})
		for range 2 { // the second request runs in the runtime the first left in the pool
			x := newExchange("/p", `{"good":"`+good+`","bad":"`+bad+`","huge":"`+huge+`"}`, nil)
			_ = step.SignRequest(context.Background(), x)
		}
		// A healthy runtime goes back to the pool; a failed one is dropped with its buffer.
		for len(step.pool) > 0 {
			v := <-step.pool
			if bytes.ContainsFunc(v.st.scratch[:cap(v.st.scratch)], func(r rune) bool { return r != 0 }) {
				t.Errorf("%s: the pooled runtime's scratch holds data between requests", c.name)
			}
			if cap(v.st.scratch) > maxScratch {
				t.Errorf("%s: a %d-byte scratch buffer was kept", c.name, cap(v.st.scratch))
			}
		}
	}
}
