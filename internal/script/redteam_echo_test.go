package script

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// chosenCiphertext is a ciphertext under the test's aes_key and aes_iv whose standard base64
// holds '+', '/' and '=' (the characters a query, a JSON encoder or a header may escape), of
// about n bytes of plaintext: short (the bytes.Contains path) or long (contains' prefix path).
func chosenCiphertext(t *testing.T, n int) string {
	t.Helper()
	for i := range 10000 {
		pt := strings.Repeat("x", n) + strings.Repeat("y", i%7) + string(rune('a'+i%26)) + strings.Repeat("z", i/26)
		ct := base64.StdEncoding.EncodeToString(cbcEncrypt([]byte(testSecrets["aes_key"]), []byte(testSecrets["aes_iv"]), []byte(pt)))
		if strings.Contains(ct, "+") && strings.Contains(ct, "/") && strings.HasSuffix(ct, "=") {
			return ct
		}
	}
	t.Fatal("no ciphertext with '+', '/' and '='")
	return ""
}

// TestRedTeamEchoedCiphertextInAnotherSpelling: the echo check looked for the ciphertext in
// the request only as the response spells it. A caller-chosen ciphertext that travels in the
// request escaped (a query parameter percent-encodes '+', '/' and '='; a JSON body may write
// "\/" or "\u0041"; a header may be percent-encoded) and comes back unescaped, or the other
// way round (PHP's json_encode writes "\/" by default), was taken for the provider's own and
// decrypted under the secret IV: the IV oracle the check exists to close. Each spelling must be
// refused, and the provider's own ciphertext must still decrypt.
func TestRedTeamEchoedCiphertextInAnotherSpelling(t *testing.T) {
	for _, n := range []int{16, 200} {
		ct := chosenCiphertext(t, n)
		jsonSlash := strings.ReplaceAll(ct, "/", `\/`)
		var uEsc strings.Builder // every character as \u00XX, as a JSON encoder may write it
		for _, c := range ct {
			uEsc.WriteString(`\u00` + "0123456789abcdef"[c>>4:c>>4+1] + "0123456789abcdef"[c&0xF:c&0xF+1])
		}
		cases := []struct {
			name, path, header, reqBody, setParam, respData string
			refused                                         bool
		}{
			{name: "query parameter the script set from hex, echoed decoded", path: "/pay", reqBody: `{}`, setParam: ct, respData: ct, refused: true},
			{name: "query parameter sent percent-encoded, echoed decoded", path: "/pay?order=" + url.QueryEscape(ct), reqBody: `{}`, respData: ct, refused: true},
			{name: "path segment percent-encoded, echoed decoded", path: "/orders/" + url.PathEscape(ct), reqBody: `{}`, respData: ct, refused: true},
			{name: "body raw, echoed with the slash escaped", path: "/pay", reqBody: `{"order":"` + ct + `"}`, respData: jsonSlash, refused: true},
			{name: "body with the slash escaped, echoed raw", path: "/pay", reqBody: `{"order":"` + jsonSlash + `"}`, respData: ct, refused: true},
			{name: "body in \\u escapes, echoed raw", path: "/pay", reqBody: `{"order":"` + uEsc.String() + `"}`, respData: ct, refused: true},
			{name: "header percent-encoded, echoed decoded", path: "/pay", header: url.QueryEscape(ct), reqBody: `{}`, respData: ct, refused: true},
			{name: "request in hex, echoed as base64", path: "/pay?order=" + hexOf(ct), reqBody: `{}`, respData: ct, refused: true},
			{name: "the provider's own", path: "/pay?order=A-1", reqBody: `{"order":"A-1"}`, respData: ct},
			{name: "the provider's own, slash escaped", path: "/pay", reqBody: `{"order":"A-1"}`, respData: jsonSlash},
		}
		src := reqHead + `var h = reqHeaders.get("X-Set"); if (h) { reqParams.set("order", base64_encode(hex_decode(h))) }
}` + respHead + `respBody.plain = aes_cbc_pkcs5_decrypt(AesKey, base64_decode(respBody.data), AesIV);
}`
		step := compileInline(t, src, Options{})
		for _, c := range cases {
			x := newExchange(c.path, c.reqBody, &fakeTokens{})
			if c.header != "" {
				x.Request.Header.Set("X-Order", c.header)
			}
			if c.setParam != "" {
				raw, _ := base64.StdEncoding.DecodeString(c.setParam) // the request carries it in hex only
				x.Request.Header.Set("X-Set", hex.EncodeToString(raw))
			}
			if err := step.SignRequest(context.Background(), x); err != nil {
				t.Fatalf("%d/%s: request: %v", n, c.name, err)
			}
			x.Response = &signerResponse{Status: 200, Header: http.Header{}, Body: []byte(`{"data":"` + c.respData + `"}`)}
			err := step.ProcessResponse(context.Background(), x)
			if c.refused && (err == nil || !strings.Contains(err.Error(), "only a ciphertext the provider sent")) {
				t.Errorf("%d bytes, %s: a caller-chosen ciphertext decrypted under the secret IV (err %v), want the refusal", n, c.name, err)
			}
			if !c.refused && err != nil {
				t.Errorf("%d bytes, %s: %v", n, c.name, err)
			}
		}
	}
}

func hexOf(b64 string) string {
	b, _ := base64.StdEncoding.DecodeString(b64)
	return hex.EncodeToString(b)
}

// TestUnescapedIsLenient: undoing escapes never fails nor reads past the text, whatever it
// holds (escapes cut short at the end, bad hex), and undoes what url and JSON write.
func TestUnescapedIsLenient(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"", ""}, {"%", "%"}, {"%2", "%2"}, {"%2F", "/"}, {"%zz", "%zz"}, {`\`, `\`}, {`\u00`, "u00"}, {`\u002`, "u002"},
		{`\u002F`, "/"}, {`a\/b`, "a/b"}, {`\\`, `\`}, {"%252F", "/"}, {`%5Cu0041`, "A"}, {"plain", "plain"},
	} {
		if got := string(unescaped([]byte(c.in))); got != c.want {
			t.Errorf("unescaped(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	ct := chosenCiphertext(t, 40)
	if got := string(unescaped([]byte(url.QueryEscape(ct)))); got != ct {
		t.Errorf("a query-escaped ciphertext unescapes to %q, want %q", got, ct)
	}
}
