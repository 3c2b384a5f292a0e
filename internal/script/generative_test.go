package script

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keygate/keygate/internal/config"
)

// FuzzRoleComposition composes built-ins over handles of every role in argument positions the
// fuzzer chooses, with concatenation, reversal, slicing and XOR with a chosen constant between
// them, in the request function and (over the provider's ciphertext) in the response function.
// Every call is caught so the program goes on; every value it ends with that is not a handle
// is written to the request body. The property: the run either fails, or no output (body,
// headers, path, error, log) holds any root secret, the token, or any value a built-in derived
// from a secret (chain keys, encoded sign strings), in any form of secretForms (raw, hex,
// base64, reversed, XOR with any one-byte constant).
//
// What it can prove: that no composition it reaches, of the built-ins it knows, moves those
// bytes to an output in those encodings. What it cannot: encodings it does not check (a
// secret's bits spread over many outputs, arithmetic on char codes, partial or
// multi-byte-XOR leaks), leaks through success or failure across requests (one bit each),
// timing, or offline searches of weak secrets from signatures, which signing allows by design.
func FuzzRoleComposition(f *testing.F) {
	for _, seed := range []string{
		"\x0a\x00\x09\x01\x0b\x00\x01\x02",                 // CBC chosen ciphertext shapes
		"\x10\x01\x01\x00\x0a\x01\x00\x08",                 // IV as key, key as IV
		"\x1b\x03\x0b\x02\x1b\x0d\x03\x04\x05\x06\x07\x08", // HMAC chains
		"\x20\x02\x21\x0c\x22\x0c\x05\x0c\x06\x02\x07\x03", // encoders, reversal, XOR
		"\x0c\x0d\x00\x0d\x01\x0d\x02\x0d\x03\x0d\x13\x0d", // the provider's ciphertext
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, prog []byte) {
		var mu sync.Mutex
		var derived [][]byte
		src := generateProgram(prog)
		logger, logBuf := captureLog()
		step, err := Compile(config.Script{Inline: src, Secrets: map[string]config.ScriptSecret{
			"other": {Role: "hmac_key", Chain: 3}, "k2": {Role: "opaque"},
		}}, testBuild(t), Options{Logger: logger, DefaultTimeout: time.Second, observeDerived: func(b []byte) {
			mu.Lock()
			derived = append(derived, b)
			mu.Unlock()
		}})
		if err != nil {
			t.Fatalf("compile: %v\n%s", err, src)
		}
		tokens := &fakeTokens{}
		_ = tokens.Save(context.Background(), secretFromString(fuzzToken), pinned.Add(time.Hour))
		x := newExchange("/pay", `{"data":"d"}`, tokens)
		reqErr := step.SignRequest(context.Background(), x)
		outputs := [][]byte{[]byte(x.Request.Path), []byte(headerText(x.Request.Header)), x.Request.Body(), logBuf.Bytes()}
		if reqErr != nil {
			outputs = append(outputs, []byte(reqErr.Error()))
		} else {
			ct := cbcEncrypt([]byte(testSecrets["aes_key"]), []byte(testSecrets["aes_iv"]), []byte(`{"paid":true}`))
			x.Response = &signerResponse{Status: 200, Body: []byte(`{"data":"` + base64.StdEncoding.EncodeToString(ct) + `"}`)}
			respErr := step.ProcessResponse(context.Background(), x)
			outputs = append(outputs, x.Response.Body)
			if respErr != nil {
				outputs = append(outputs, []byte(respErr.Error()))
			}
		}
		mu.Lock()
		defer mu.Unlock()
		checkNoSecret(t, outputs, append(derived, []byte(fuzzToken))...)
	})
}

const fuzzToken = "tok-9f8e7d6c5b4a3210"

// The pool a generated program starts from: a handle of every role, and plain values shaped
// for each argument position.
var poolInit = []string{
	"AesKey", "AesIV", `secret("app_secret")`, `secret("other")`, `secret("private_key")`,
	"token_load()", `secret("k2")`, `"plain-16-byte-iv"`, `"000000000000"`, "new Uint8Array(16)",
	"new Uint8Array(32)", `"TC3"`, "reqBody.buildSignStr()", "EXTRA",
}

// The calls a program makes: name and arity.
var fuzzCalls = []struct {
	name  string
	arity int
}{
	{"md5", 1}, {"sha1_base64", 1}, {"sha256", 1}, {"sha512_bytes", 1},
	{"hmac_sha1", 2}, {"hmac_sha256", 2}, {"hmac_sha256_bytes", 2}, {"hmac_sha512_base64", 2},
	{"base64_encode", 1}, {"hex_encode", 1}, {"url_encode", 1}, {"base64url_encode", 1},
	{"base64_decode", 1}, {"hex_decode", 1}, {"form_encode", 1},
	{"aes_cbc_pkcs5_encrypt", 3}, {"aes_cbc_pkcs5_decrypt", 3}, {"aes_gcm_encrypt", 3}, {"aes_gcm_decrypt", 3},
	{"aes_gcm_encrypt", 4}, {"rsa_sign", 2}, {"ecdsa_sign", 2},
	{"url_decode", 1}, {"form_decode", 1}, {"hmac_md5", 2}, {"hmac_md5_bytes", 2},
}

// generateProgram turns fuzz bytes into a request and a response function of the same steps.
// Each step is one call (or a concatenation, reversal, slice or XOR) over values of the pool,
// caught, its result (or its error's text) added to the pool.
func generateProgram(prog []byte) string {
	next := func() int {
		if len(prog) == 0 {
			return 0
		}
		b := int(prog[0])
		prog = prog[1:]
		return b
	}
	var steps []string
	for i := 0; i < 16 && len(prog) > 0; i++ {
		n := len(poolInit) + i // values in the pool so far
		pick := func() string { return fmt.Sprintf("P[%d]", next()%n) }
		op := next() % (len(fuzzCalls) + 4)
		var expr string
		switch {
		case op < len(fuzzCalls):
			c := fuzzCalls[op]
			args := make([]string, c.arity)
			for j := range args {
				args[j] = pick()
			}
			expr = c.name + "(" + strings.Join(args, ", ") + ")"
		case op == len(fuzzCalls):
			expr = pick() + " + " + pick()
		case op == len(fuzzCalls)+1:
			expr = "text(" + pick() + ").split('').reverse().join('')"
		case op == len(fuzzCalls)+2:
			expr = "text(" + pick() + ").slice(1, -1)"
		default:
			expr = fmt.Sprintf("xor(%s, %d)", pick(), next())
		}
		steps = append(steps, "  try { P.push("+expr+") } catch (e) { P.push(String(e)) }")
	}
	body := strings.Join(steps, "\n")
	helpers := `
  function bytesOf(v) {
    if (v instanceof ArrayBuffer) return new Uint8Array(v);
    if (v instanceof Uint8Array) return v;
    var s = String(v), b = new Uint8Array(s.length);
    for (var i = 0; i < s.length; i++) b[i] = s.charCodeAt(i) & 255;
    return b;
  }
  function text(v) {
    if (v instanceof ArrayBuffer || v instanceof Uint8Array) {
      var b = bytesOf(v), h = "";
      for (var i = 0; i < b.length; i++) h += (b[i] < 16 ? "0" : "") + b[i].toString(16);
      return h;
    }
    return String(v);
  }
  function xor(v, c) { var b = bytesOf(v), o = new Uint8Array(b.length); for (var i = 0; i < b.length; i++) o[i] = b[i] ^ c; return o; }
  function out(set) {
    for (var i = 0; i < P.length; i++) {
      var t = text(P[i]);
      if (t.indexOf("\uE000") < 0 && t.indexOf("\uE001") < 0) set("o" + i, t);
    }
  }
`
	init := strings.Join(poolInit, ", ")
	return "function (reqHeaders, reqParams, reqBody, AppKey, AesKey, AesIV) {" + helpers +
		"  var P = [" + strings.Replace(init, "EXTRA", "new Uint8Array(48)", 1) + "];\n" + body +
		"\n  out(function (k, v) { reqBody.set(k, v) });\n}\n" +
		"function (respBody, AppKey, AesKey, AesIV) {\n  var reqBody = {buildSignStr: function () { return '' }};" + helpers +
		"  var P = [" + strings.Replace(strings.Replace(init, "EXTRA", "base64_decode(respBody.data)", 1), "token_load()", `""`, 1) + "];\n" + body +
		"\n  out(function (k, v) { respBody[k] = v });\n}\n"
}
