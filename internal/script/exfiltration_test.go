package script

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keygate/keygate/internal/failure"
)

// TestNoExfiltration runs scripts that try to move a key to every output. Each must fail closed
// naming the sink (or, for tricks on the marker text, succeed without any secret byte in any
// output); no output, error or log line may hold a secret, raw or encoded.
func TestNoExfiltration(t *testing.T) {
	var mu sync.Mutex
	var received []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		received = append(received, []byte(r.URL.String()+"\n"+headerText(r.Header)+"\n")...)
		received = append(received, b...)
		mu.Unlock()
		_, _ = w.Write([]byte(`{"ok":true}`))
	}))
	defer srv.Close()

	tests := []struct {
		name, body string
		sink       string // "" means the script must succeed
	}{
		{"header", `reqHeaders.set("X-Key", AesKey)`, "header X-Key"},
		{"header concatenation", `reqHeaders.set("X-Sig", "v=" + reqBody.buildSignStr())`, "header X-Sig"},
		{"uri", `reqHeaders.setURI("/x?k=" + AesIV)`, "the URI"},
		{"query", `reqParams.set("k", AesKey)`, "query parameter k"},
		{"body string", `reqBody.set("k", secret("app_secret"))`, "body field k"},
		{"body object", `reqBody.set("k", {nested: [AesKey]})`, "body field k"},
		{"http body", `http_post_json(TokenUrl, {k: AesKey}, {})`, "http_post_json body"},
		{"http header", `http_post_json(TokenUrl, {}, {"X-K": AesKey})`, "http_post_json header X-K"},
		{"http url", `http_post_json(TokenUrl + "?k=" + AesKey, {}, {})`, "http_post_json url"},
		{"http form", `http_post_form(TokenUrl, {k: AesIV}, {})`, "form_encode"},
		{"log", `log("key", AesKey)`, "log"},
		{"console", `console.log(AesKey)`, "log"},
		{"token_save", `token_save(AesKey, 60); reqHeaders.set("Authorization", token_load())`, "token_save"},
		{"base64 of a key", `reqHeaders.set("X", base64_encode(AesKey))`, "base64_encode: the input does not take secret aes_key (role aes_key)"},
		{"hex of a key", `reqHeaders.set("X", hex_encode(AesKey))`, "hex_encode: the input does not take secret aes_key (role aes_key)"},
		{"url_encode", `reqParams.set("k", url_encode(AesKey))`, "url_encode: the input does not take secret aes_key (role aes_key)"},
		{"encrypt then decrypt", `var c = aes_cbc_pkcs5_encrypt("0000000000000000", AesKey, "0000000000000000");
			reqHeaders.set("X", aes_cbc_pkcs5_decrypt("0000000000000000", c, "0000000000000000"))`, "aes_cbc_pkcs5_encrypt: the plaintext does not take secret aes_key (role aes_key)"},
		{"decrypt a key", `reqHeaders.set("X", aes_cbc_pkcs5_decrypt(AesKey, AesKey, AesIV))`, "aes_cbc_pkcs5_decrypt: the ciphertext does not take secret aes_key (role aes_key)"},
		{"secret iv with a known key", `reqHeaders.set("X", base64_encode(aes_cbc_pkcs5_encrypt("0000000000000000", "x", AesIV)))`, "aes_cbc_pkcs5_encrypt: the IV aes_iv is secret and the key is not"},
		{"gcm plaintext", `aes_gcm_encrypt(AesKey, AesIV, "000000000000")`, "aes_gcm_encrypt: the plaintext does not take secret aes_iv (role iv)"},
		{"caught violation still fails", `try { reqHeaders.set("X", AesKey) } catch (e) {} reqHeaders.set("X", "fine")`, "header X"},
		{"reversed marker", `reqHeaders.set("X", AesKey.split("").reverse().join(""))`, "header X"},
		{"marker without delimiters", `reqHeaders.set("X", AesKey.slice(1, -1))`, ""},
		{"char codes of the marker", `var s = ""; for (var i = 0; i < AesKey.length; i++) s += AesKey.charCodeAt(i) + ",";
			reqHeaders.set("X", s); reqBody.set("len", AppKey.length)`, ""},
		{"digest of a sign string is fine", `reqHeaders.set("X", sha256(reqBody.buildSignStr()) + hmac_sha256_base64(secret("other"), "m"))`, ""},
		{"digest of an AES key is refused", `reqHeaders.set("X", sha256(AesKey))`, "sha256: the data does not take secret aes_key (role aes_key)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			logger, logBuf := captureLog()
			step := compileInline(t, "function (reqHeaders, reqParams, reqBody, AppKey, AesKey, AesIV, PrefixUrl, TokenUrl) {\n"+tc.body+"\n}",
				Options{TokenURL: srv.URL + "/token", Logger: logger})
			x := newExchange("/pay?a=1", `{"data":"d"}`, &fakeTokens{})
			err := step.SignRequest(context.Background(), x)
			if tc.sink == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
			} else {
				want := tc.sink
				if !strings.Contains(want, ": ") {
					want = "secret value reached " + want
				}
				if err == nil || failure.KindOf(err) != failure.Internal || failure.StageOf(err) != "script" ||
					!strings.Contains(err.Error(), want) {
					t.Fatalf("err = %v, want internal script error naming %q", err, tc.sink)
				}
			}
			outputs := [][]byte{[]byte(x.Request.Path), []byte(headerText(x.Request.Header)), x.Request.Body(), logBuf.Bytes()}
			if err != nil {
				outputs = append(outputs, []byte(err.Error()))
			}
			mu.Lock()
			outputs = append(outputs, received)
			mu.Unlock()
			for i, o := range outputs {
				if leaks(o) || strings.ContainsRune(string(o), markOpen) {
					t.Fatalf("output %d holds a secret or a marker", i) // the output itself is not printed
				}
			}
		})
	}
}

func TestNoExfiltrationThroughThrowAndResponse(t *testing.T) {
	step := compileInline(t, `
function sign(reqHeaders, reqParams, reqBody, AppKey, AesKey) { throw new Error("key is " + AesKey) }
function resp(respBody, AppKey, AesKey, AesIV) { respBody.k = AesIV }`, Options{})
	x := newExchange("/p", `{}`, nil)
	err := step.SignRequest(context.Background(), x)
	if err == nil || !strings.Contains(err.Error(), "message withheld") || leaks([]byte(err.Error())) || strings.ContainsRune(err.Error(), markOpen) {
		t.Fatalf("throw: err = %q", err)
	}
	x.Response = &signerResponse{Status: 200, Body: []byte(`{"a":1}`)}
	err = step.ProcessResponse(context.Background(), x)
	if err == nil || !strings.Contains(err.Error(), "secret value reached the response body") || string(x.Response.Body) != `{"a":1}` {
		t.Fatalf("respBody: err = %v, body %s", err, x.Response.Body)
	}
}

// TestTokenHandleGoesOnlyToHeaders: a cached token reaches a request header, nothing else.
func TestTokenHandleGoesOnlyToHeaders(t *testing.T) {
	tokens := &fakeTokens{}
	_ = tokens.Save(context.Background(), secretFromString("Bearer cached-token"), pinned.Add(3600e9))
	for _, tc := range []struct{ body, sink string }{
		{`reqHeaders.set("Authorization", token_load())`, ""},
		{`reqHeaders.set("X-Auth", "Token " + token_load())`, ""},
		{`reqBody.set("t", token_load())`, "body field t"},
		{`reqParams.set("t", token_load())`, "query parameter t"},
	} {
		step := compileInline(t, "function (reqHeaders, reqParams, reqBody) {\n"+tc.body+"\n}", Options{})
		x := newExchange("/p", `{}`, tokens)
		err := step.SignRequest(context.Background(), x)
		if tc.sink == "" && (err != nil || !strings.Contains(headerText(x.Request.Header), "cached-token")) {
			t.Fatalf("%s: err %v, headers lack the token", tc.body, err)
		}
		if tc.sink != "" && (err == nil || !strings.Contains(err.Error(), tc.sink)) {
			t.Fatalf("%s: err = %v", tc.body, err)
		}
	}
}

// TestIVBinding: a secret key keeps the mode and IV it was first used with, so encrypting
// under the secret IV and decrypting under a known IV (whose XOR would reveal the IV) cannot
// both happen; the refusal is uncatchable.
func TestIVBinding(t *testing.T) {
	step := compileInline(t, `function (reqHeaders, reqParams, reqBody, AppKey, AesKey, AesIV) {
  aes_cbc_pkcs5_encrypt(AesKey, "x", AesIV);
  try { aes_cbc_pkcs5_decrypt(AesKey, base64_decode("AAAAAAAAAAAAAAAAAAAAAA=="), "0000000000000000") } catch (e) {}
}`, Options{})
	err := step.SignRequest(context.Background(), newExchange("/p", `{}`, nil))
	if err == nil || !strings.Contains(err.Error(), "same mode with the same IV (first cbc with IV aes_iv, now cbc with plain IVs)") {
		t.Fatalf("err = %v, want the IV binding error", err)
	}
}

func headerText(h http.Header) string {
	var b strings.Builder
	_ = h.Write(&b)
	return b.String()
}

// TestTokenReadBackStaysAHandle: a token put in a header (by the script, or by an earlier step
// that marked it sensitive) comes back from reqHeaders.get as a handle, so it can go into a
// header again but into no other output.
func TestTokenReadBackStaysAHandle(t *testing.T) {
	const tok = "tok-7f3a9c0e51d2"
	for _, tc := range []struct{ name, body, sink string }{
		{"to the log", `reqHeaders.set("X-Tmp", token_load()); log(reqHeaders.get("X-Tmp"))`, "log"},
		{"to the body", `reqHeaders.set("X-Tmp", token_load()); var t = reqHeaders.get("X-Tmp"); reqHeaders.remove("X-Tmp"); reqBody.set("t", t)`, "body field t"},
		{"set by an earlier step", `reqParams.set("t", reqHeaders.get("Authorization"))`, "query parameter t"},
		{"back into a header", `reqHeaders.set("X-Copy", reqHeaders.get("Authorization"))`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			logger, logBuf := captureLog()
			step := compileInline(t, "function (reqHeaders, reqParams, reqBody) {\n"+tc.body+"\n}", Options{Logger: logger})
			tokens := &fakeTokens{}
			_ = tokens.Save(context.Background(), secretFromString(tok), pinned.Add(time.Hour))
			x := newExchange("/pay", `{"data":"d"}`, tokens)
			x.Request.Header.Set("Authorization", "Bearer "+tok)
			x.MarkSensitive("Bearer " + tok)
			err := step.SignRequest(context.Background(), x)
			if tc.sink == "" {
				if err != nil || x.Request.Header.Get("X-Copy") != "Bearer "+tok {
					t.Fatalf("a header copy of the token: err %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), "secret value reached "+tc.sink) {
				t.Fatalf("err = %v, want a violation naming %q", err, tc.sink)
			}
			for _, out := range []string{x.Request.Path, string(x.Request.Body()), logBuf.String()} {
				if strings.Contains(out, tok) {
					t.Fatal("the token reached an output (value withheld)")
				}
			}
		})
	}
}
