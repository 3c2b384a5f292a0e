package script

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"strings"
	"testing"

	"github.com/keygate/keygate/internal/config"
)

// TestHeaderNamesAndGetAll: reqHeaders.names() lists the headers that leave (lower case,
// sorted, once each, "host" for the upstream authority, no framing headers), and getAll every
// value of one, for schemes that sign a class of headers (x-acs-*, x-bce-*, x-sdk-*).
func TestHeaderNamesAndGetAll(t *testing.T) {
	step := compileInline(t, reqHead+`reqHeaders.set("X-Acs-Date", "d");
  reqHeaders.set("X-Out", JSON.stringify({names: reqHeaders.names(), all: reqHeaders.getAll("x-acs-multi"),
    host: reqHeaders.getAll("HOST"), none: reqHeaders.getAll("x-absent")}));
}`, Options{})
	x := newExchange("/q", `{}`, nil)
	x.Request.Header.Add("X-Acs-Multi", "a ")
	x.Request.Header.Add("X-Acs-Multi", "b")
	x.Request.Header.Set("content-type", "application/json") // a non-canonical key
	x.Request.Header.Set("Content-Length", "2")
	if err := step.SignRequest(context.Background(), x); err != nil {
		t.Fatal(err)
	}
	want := `{"names":["content-type","host","x-acs-date","x-acs-multi"],"all":["a ","b"],"host":["pay.example.com"],"none":[]}`
	if got := x.Request.Header.Get("X-Out"); got != want {
		t.Fatalf("X-Out = %s\nwant    %s", got, want)
	}
}

// TestRedTeamHeaderReaders: reqHeaders.names/getAll and the hex-encoded HMAC chain key (BCE's
// signing key is the hex TEXT of HMAC(sk, prefix)), attacked by a hostile script author. An
// earlier step wrote the secret "other" into a header and the query (marked sensitive); the
// script's own hmac_key "other" has a chain of 2. Each attack tries to turn what the readers or
// the chain return into text, a partial-secret oracle or an output; each must fail its request,
// uncatchably, and leave no form of the secret or the derived key in any output.
func TestRedTeamHeaderReaders(t *testing.T) {
	const stolen = `reqHeaders.set("X-Leak", hex_encode(v.split("").reverse().join("")))`
	for _, tc := range []struct{ name, body string }{
		{"getAll of the token header", `var v = reqHeaders.getAll("authorization")[0]; ` + stolen},
		{"getAll in another case into the body", `reqBody.set("copy", reqHeaders.getAll("AUTHORIZATION"))`},
		{"getAll joined into the log", `log(reqHeaders.getAll("Authorization").join(","))`},
		{"getAll trimmed into the URI", `reqHeaders.setURI("/p?x=" + reqHeaders.getAll("Authorization")[0].trim())`},
		{"getAll through JSON", `var v = JSON.stringify(reqHeaders.getAll("Authorization")); ` + stolen},
		{"getAll of a header the script set from a token", `token_save("tok-12345678", 60); reqHeaders.set("X-T", "Bearer " + token_load()); reqBody.set("copy", reqHeaders.getAll("x-t")[0])`},
		{"every header value by names()", `var o = ""; reqHeaders.names().forEach(function (n) { o += reqHeaders.getAll(n).join(""); }); reqBody.set("copy", o)`},
		{"a key handle as a header name", `reqHeaders.getAll(secret("other"))`},
		{"a key handle as a header name to set", `reqHeaders.set(secret("other"), "x")`},
		{"hex chain key printed", `var v = hmac_sha256(secret("other"), "bce-auth-v1/ak/d/1800"); reqHeaders.set("X-Leak", v)`},
		{"hex chain key reversed", `var v = hmac_sha256(secret("other"), "p"); ` + stolen},
		{"hex chain key sliced as the next key", `var k = hmac_sha256(secret("other"), "p"); reqHeaders.set("X-Leak", hmac_sha256(k.slice(0, k.length - 1), "m"))`},
		{"hex chain key byte by byte", `var k = hmac_sha256(secret("other"), "p"), o = ""; for (var i = 0; i < k.length; i++) o += md5(k.charAt(i)); reqHeaders.set("X-Leak", o)`},
		{"hex chain key as digest data", `reqHeaders.set("X-Leak", md5(hmac_sha256(secret("other"), "p")))`},
		{"hex chain key through hex_decode", `reqHeaders.set("X-Leak", hex_encode(hex_decode(hmac_sha256(secret("other"), "p"))))`},
		{"hex chain key through url_encode", `reqHeaders.set("X-Leak", url_encode(hmac_sha256(secret("other"), "p")))`},
		{"hex chain key as an AES key", `var k = hmac_sha256(secret("other"), "p"); reqHeaders.set("X-Leak", hex_encode(aes_cbc_pkcs5_encrypt(k, "x", "0000000000000000")))`},
		{"hex chain key in a header value with text", `reqHeaders.set("X-Leak", "k=" + hmac_sha256(secret("other"), "p"))`},
		{"hex chain key as an error message", `throw new Error(hmac_sha256(secret("other"), "p"))`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			logger, logBuf := captureLog()
			step, err := Compile(config.Script{Inline: reqHead + `try { ` + tc.body + ` } catch (e) { reqHeaders.set("X-Caught", String(e).slice(0, 200)) }
}`, Secrets: map[string]config.ScriptSecret{"other": {Role: "hmac_key", Chain: 2}}}, testBuild(t), Options{Logger: logger})
			if err != nil {
				t.Fatal(err)
			}
			key := testSecrets["other"]
			x := newExchange("/p?a=1&key="+url.QueryEscape(key), `{"n":1}`, &fakeTokens{})
			x.Request.Header.Set("Authorization", "Bearer "+key)
			x.MarkSensitive(key)
			reqErr := step.SignRequest(context.Background(), x)
			path := strings.Replace(x.Request.Path, "key="+url.QueryEscape(key), "", 1)
			outputs := [][]byte{[]byte(path), []byte(headerText(without(x.Request.Header, "Authorization"))), logBuf.Bytes(), x.Request.Body()}
			if reqErr != nil {
				outputs = append(outputs, []byte(reqErr.Error()))
			}
			checkNoSecret(t, outputs, []byte(hex.EncodeToString(goHMAC(sha256.New, key, "p"))),
				[]byte(hex.EncodeToString(goHMAC(sha256.New, key, "bce-auth-v1/ak/d/1800"))))
			if reqErr == nil {
				t.Fatal("the attack ran to the end; each must fail its request")
			}
		})
	}
}

// TestHexChainKeyTellsNothing: what a script CAN do with the hex chain key without failing its
// request reveals nothing: the handle compares equal to no guess (not even the right one), its
// length is the marker's, the same for any secret, and only the last HMAC's output is text:
// the BCE signature, computed with the key's hex text as bytes.
func TestHexChainKeyTellsNothing(t *testing.T) {
	key := testSecrets["other"]
	real := hex.EncodeToString(goHMAC(sha256.New, key, "p"))
	step, err := Compile(config.Script{Inline: reqHead + `var k = hmac_sha256(secret("other"), "p"), k2 = hmac_sha256(secret("other"), "q");
  reqHeaders.set("X-Eq", [k === "` + real + `", k.indexOf("` + real[:4] + `") >= 0, k.length === k2.length, k === k2].join(","));
  reqHeaders.set("X-Sig", hmac_sha256(k, "canonical"));
}`, Secrets: map[string]config.ScriptSecret{"other": {Role: "hmac_key", Chain: 2}}}, testBuild(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	x := newExchange("/p", `{}`, nil)
	if err := step.SignRequest(context.Background(), x); err != nil {
		t.Fatal(err)
	}
	if got := x.Request.Header.Get("X-Eq"); got != "false,false,true,false" {
		t.Errorf("X-Eq = %s, want false,false,true,false", got)
	}
	if got, want := x.Request.Header.Get("X-Sig"), hex.EncodeToString(goHMAC(sha256.New, real, "canonical")); got != want {
		t.Errorf("X-Sig = %s, want %s (HMAC keyed with the hex text)", got, want)
	}
}
