package script

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/keygate/keygate/internal/config"
)

// TestRedTeamEchoedAtTheLengthBoundaries: the echo check skips a path, header or body shorter
// than the shortest form a ciphertext can take (unpadded base64), and an unescaped text only
// when it got shorter than that. A request text of exactly that length, or one whose escapes
// undone leave exactly the ciphertext, must still count; so must a caller's upper-case hex
// (every digit a to f upper-cased) echoed back in another encoding.
func TestRedTeamEchoedAtTheLengthBoundaries(t *testing.T) {
	src := reqHead + `}` + respHead + `respBody.plain = aes_cbc_pkcs5_decrypt(AesKey, base64_decode(respBody.data), AesIV);
}`
	step := compileInline(t, src, Options{})
	for _, n := range []int{16, 200} {
		ct, raw := slashFirstCiphertext(t, n)
		if h := hex.EncodeToString(raw); !strings.Contains(h, "a") || !strings.Contains(h, "f") {
			t.Fatalf("the ciphertext's hex %s lacks a or f", h)
		}
		cases := []struct{ name, path, header, body string }{
			{name: "a header that is exactly the unpadded ciphertext", path: "/pay", header: ct, body: `{}`},
			{name: "a path that is exactly the unpadded ciphertext", path: ct, body: `{}`},
			{name: "a body that is exactly the unpadded ciphertext", path: "/pay", body: ct},
			{name: "a header that unescapes to exactly the ciphertext", path: "/pay", header: strings.ReplaceAll(ct, "/", "%2F"), body: `{}`},
			{name: "a header in upper-case hex", path: "/pay", header: strings.ToUpper(hex.EncodeToString(raw)), body: `{}`},
		}
		for _, c := range cases {
			x := newExchange(c.path, c.body, &fakeTokens{})
			if c.header != "" {
				x.Request.Header.Set("X-Order", c.header)
			}
			if err := step.SignRequest(context.Background(), x); err != nil {
				t.Fatalf("%d/%s: request: %v", n, c.name, err)
			}
			x.Response = &signerResponse{Status: 200, Header: http.Header{}, Body: []byte(`{"data":"` + ct + `"}`)}
			err := step.ProcessResponse(context.Background(), x)
			if err == nil || !strings.Contains(err.Error(), "only a ciphertext the provider sent") {
				t.Errorf("%d bytes, %s: a caller-chosen ciphertext decrypted under the secret IV (err %v), want the refusal", n, c.name, err)
			}
		}
	}
}

// slashFirstCiphertext is a ciphertext under the test's key and IV, of about n bytes of
// plaintext, whose unpadded standard base64 begins with '/' (so it can be a whole path) and
// holds another '/'; it returns that base64 and the raw bytes.
func slashFirstCiphertext(t *testing.T, n int) (string, []byte) {
	t.Helper()
	for i := range 100000 {
		pt := strconv.Itoa(i) + strings.Repeat("x", n) // the first block varies
		raw := cbcEncrypt([]byte(testSecrets["aes_key"]), []byte(testSecrets["aes_iv"]), []byte(pt))
		ct := base64.RawStdEncoding.EncodeToString(raw)
		if strings.HasPrefix(ct, "/") && strings.Contains(ct[1:], "/") {
			return ct, raw
		}
	}
	t.Fatal("no ciphertext whose base64 begins with '/'")
	return "", nil
}

// TestInertTopLevelAllowsOperatorsOverPrimitives: a top-level var may compute from primitive
// literals (arithmetic, comparison, concatenation: nothing is called), as provider scripts do
// for constants; instanceof and in are refused even there.
func TestInertTopLevelAllowsOperatorsOverPrimitives(t *testing.T) {
	for _, top := range []string{`var N = 2 * 8, S = "a" + "b", L = 1 < 2, M = -1 >>> 0;`, `var C = 1 ? "x" : "y";`} {
		if _, err := Compile(config.Script{Inline: top + "\n" + reqHead + `}`}, testBuild(t), Options{}); err != nil {
			t.Errorf("%s: %v", top, err)
		}
	}
	for _, top := range []string{`var I = 1 instanceof 2;`, `var J = "a" in "b";`} {
		if _, err := Compile(config.Script{Inline: top + "\n" + reqHead + `}`}, testBuild(t), Options{}); err == nil {
			t.Errorf("%s compiled", top)
		}
	}
}
