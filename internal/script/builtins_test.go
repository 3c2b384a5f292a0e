package script

import (
	"context"
	"crypto"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"hash"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/keygate/keygate/internal/jsonbody"
)

// eval runs expr inside a request function and returns the text of what it yields.
func eval(t *testing.T, expr string, tokens *fakeTokens) string {
	t.Helper()
	step := compileInline(t, reqHead+"reqBody.set('out', ("+expr+"));\n}", Options{})
	x := newExchange("/p", `{}`, tokens)
	if err := step.SignRequest(context.Background(), x); err != nil {
		t.Fatalf("%s: %v", expr, err)
	}
	o, err := jsonbody.Parse(x.Request.Body())
	if err != nil {
		t.Fatal(err)
	}
	out, _ := o.Text("out")
	return out
}

func goHMAC(h func() hash.Hash, key, msg string) []byte {
	m := hmac.New(h, []byte(key))
	m.Write([]byte(msg))
	return m.Sum(nil)
}

func TestBuiltins(t *testing.T) {
	sha512abc := sha512.Sum512([]byte("abc"))
	tests := []struct{ expr, want string }{
		{`md5("abc")`, "900150983cd24fb0d6963f7d28e17f72"},
		{`sha1("abc")`, "a9993e364706816aba3e25717850c26c9cd0d89d"},
		{`sha256("abc")`, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
		{`sha512("abc")`, hex.EncodeToString(sha512abc[:])},
		{`sha256_base64("abc")`, "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0="},
		{`hex_encode(sha256_bytes("abc"))`, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
		{`hmac_sha256("key", "The quick brown fox jumps over the lazy dog")`, "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"},
		{`hmac_sha256(secret("other"), "m")`, hex.EncodeToString(goHMAC(sha256.New, testSecrets["other"], "m"))},
		{`hmac_sha1_base64("k" + secret("other"), "m")`, base64.StdEncoding.EncodeToString(goHMAC(sha1.New, "k"+testSecrets["other"], "m"))},
		{`hmac_sha512("k", "m")`, hex.EncodeToString(goHMAC(sha512.New, "k", "m"))},
		{`sha256("a" + secret("other") + "b")`, func() string {
			s := sha256.Sum256([]byte("a" + testSecrets["other"] + "b"))
			return hex.EncodeToString(s[:])
		}()},
		{`base64_encode("hi")`, "aGk="},
		{`hex_encode(base64_decode("aGk="))`, "6869"},
		{`hex_encode(base64_decode("aGk"))`, "6869"},
		{`base64url_encode(hex_decode("fbff"))`, "-_8"},
		{`hex_encode(new Uint8Array([1, 255]))`, "01ff"},
		{`url_encode("a b+c/~é")`, "a%20b%2Bc%2F~%C3%A9"},
		{`form_encode({a: "x y", b: "&"})`, "a=x+y&b=%26"},
		{`form_encode("x y")`, "x+y"},
		{`sort_keys({b: 1, a: 2, C: 3}).join(",")`, "C,a,b"},
		{`sorted(["b", "a", "B"]).join(",")`, "B,a,b"},
		{`now()`, strconv.FormatInt(pinned.UnixMilli(), 10)},
		{`Date.now()`, strconv.FormatInt(pinned.UnixMilli(), 10)},
		{`nonce()`, "a1b2c3d4e5f60718293a4b5c6d7e8f90"},
		{`aes_gcm_decrypt(AesKey, aes_gcm_encrypt(AesKey, "hello", "000000000000", "aad"), "000000000000", "aad")`, "hello"},
		{`aes_cbc_pkcs5_decrypt("0000000000000000", aes_cbc_pkcs5_encrypt("0000000000000000", "héllo", "1111111111111111"), "1111111111111111")`, "héllo"},
		{`reqBody.buildSignStr().length > 0`, "true"},
	}
	for _, tc := range tests {
		t.Run(tc.expr, func(t *testing.T) {
			if got := eval(t, tc.expr, nil); got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
	t.Run("uuid", func(t *testing.T) {
		if got := eval(t, "uuid()", nil); !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(got) {
			t.Fatalf("uuid %q", got)
		}
	})
	t.Run("rsa_sign", func(t *testing.T) {
		sig, _ := base64.StdEncoding.DecodeString(eval(t, `base64_encode(rsa_sign("private_key", "payload"))`, nil))
		sum := sha256.Sum256([]byte("payload"))
		if err := rsa.VerifyPKCS1v15(&testRSA().PublicKey, crypto.SHA256, sum[:], sig); err != nil {
			t.Fatal(err)
		}
	})
}

// TestChainedHMACAWSSigV4 derives the SigV4 signing key by chained HMACs from a key handle and
// checks the AWS test suite's get-vanilla signature.
func TestChainedHMACAWSSigV4(t *testing.T) {
	const stringToSign = "AWS4-HMAC-SHA256\\n20150830T123600Z\\n20150830/us-east-1/service/aws4_request\\nbb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63"
	got := eval(t, `(function () {
  var kDate = hmac_sha256_bytes("AWS4" + secret("aws_secret"), "20150830");
  var kRegion = hmac_sha256_bytes(kDate, "us-east-1");
  var kService = hmac_sha256_bytes(kRegion, "service");
  var kSigning = hmac_sha256_bytes(kService, "aws4_request");
  return hmac_sha256(kSigning, "`+stringToSign+`");
})()`, nil)
	if got != "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31" {
		t.Fatalf("signature %s", got)
	}
}

func TestTokenSaveExpiry(t *testing.T) {
	tests := []struct {
		arg  string
		want time.Time
	}{
		{"60", pinned.Add(time.Minute)},
		{"'7200'", pinned.Add(2 * time.Hour)},
		{"1700000000", time.Unix(1700000000, 0)},
		{"1700000000123", time.UnixMilli(1700000000123)},
	}
	for _, tc := range tests {
		tokens := &fakeTokens{}
		eval(t, "token_save('tok', "+tc.arg+")", tokens)
		if !tokens.expiry.Equal(tc.want) || string(tokens.tok.Reveal()) != "tok" {
			t.Fatalf("token_save(%s): expiry %v, want %v", tc.arg, tokens.expiry, tc.want)
		}
	}
}

func TestRequestObjects(t *testing.T) {
	step := compileInline(t, reqHead+`
  reqHeaders.set("X-A", reqHeaders.get("X-In") + "!");
  reqHeaders.remove("X-Drop");
  reqParams.set("b", reqParams.get("a") + " 2");
  reqParams.remove("c");
  reqBody.set("n", reqBody.get("n") + 1);
  reqBody.set("o", {z: 1, a: [true, null]});
  reqBody.remove("gone");
  reqBody.set("u", undefined);
}`, Options{})
	x := newExchange("/p?a=1&c=3&d=%2F", `{"n":1,"gone":0,"u":2}`, nil)
	x.Request.Header.Set("X-In", "in")
	x.Request.Header.Set("X-Drop", "x")
	if err := step.SignRequest(context.Background(), x); err != nil {
		t.Fatal(err)
	}
	if x.Request.Header.Get("X-A") != "in!" || x.Request.Header.Get("X-Drop") != "" {
		t.Fatalf("headers %v", x.Request.Header)
	}
	if x.Request.Path != "/p?a=1&d=%2F&b=1%202" {
		t.Fatalf("path %q", x.Request.Path)
	}
	if got := string(x.Request.Body()); got != `{"n":2,"o":{"z":1,"a":[true,null]}}` {
		t.Fatalf("body %s", got)
	}
}

// TestRefusedCipherCallBindsNothing: a call refused for a bad IV (a secret IV with text joined
// to it) fails its request, uncatchably, without telling the secret IV's length, and binds
// nothing: a later request's correct call still runs.
func TestRefusedCipherCallBindsNothing(t *testing.T) {
	step := compileInline(t, `function (reqHeaders, reqParams, reqBody, AppKey, AesKey, AesIV) {
		if (reqBody.get("bad")) {
			try { aes_cbc_pkcs5_encrypt(AesKey, "x", AesIV + "x") } catch (e) {}
		}
		reqHeaders.set("X-Ok", base64_encode(aes_cbc_pkcs5_encrypt(AesKey, "x", AesIV)));
	}`, Options{})
	err := step.SignRequest(context.Background(), newExchange("/pay", `{"bad":true}`, nil))
	if err == nil || !strings.Contains(err.Error(), "a secret IV must be the secret alone") || strings.Contains(err.Error(), "got") {
		t.Fatalf("refused call: err %v, want the rule without the secret's length", err)
	}
	x := newExchange("/pay", `{}`, nil)
	if err := step.SignRequest(context.Background(), x); err != nil || x.Request.Header.Get("X-Ok") == "" {
		t.Fatalf("the correct call did not run: %v", err)
	}
}
