package script

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestRedTeamEchoedThroughALenientDecoder: the echo check knew a ciphertext's forms only as
// unbroken strings. Many decoders are lenient (MIME base64 skips line breaks and often every
// character outside its alphabet; hex parsers take either case and skip separators), so a
// caller's ciphertext sent broken into lines, split by separators, chunked over a JSON array or
// in mixed-case hex, or as raw bytes, and sent back by such a provider in its own spelling, was taken for the
// provider's and decrypted under the secret IV. Each such request must be refused; the
// provider's own ciphertext must still decrypt beside base64 and hex of other data.
func TestRedTeamEchoedThroughALenientDecoder(t *testing.T) {
	for _, n := range []int{16, 200} {
		ct := chosenCiphertext(t, n)
		raw, _ := base64.StdEncoding.DecodeString(ct)
		hx := hexOf(ct)
		jsonQ := func(s string) string { b, _ := json.Marshal(s); return string(b) }
		cases := []echoCase{
			{name: "MIME lines in a JSON body", path: "/pay", body: `{"order":` + jsonQ(mimeLines(ct, 8, "\r\n")) + `}`, refused: true},
			{name: "spaces every 4 characters in a header", path: "/pay", header: orderHeader(mimeLines(ct, 4, " ")), body: `{}`, refused: true},
			{name: "chunks of a JSON array", path: "/pay", body: `{"order":["` + strings.Join(chunks(ct, 5), `","`) + `"]}`, refused: true},
			{name: "URL alphabet, unpadded, in the path", path: "/orders/" + base64.RawURLEncoding.EncodeToString(raw), body: `{}`, refused: true},
			{name: "mixed-case hex in a query", path: "/pay?order=" + mixedCase(hx), body: `{}`, refused: true},
			{name: "hex with colons in a header", path: "/pay", header: orderHeader(strings.Join(chunks(hx, 2), ":")), body: `{}`, refused: true},
			{name: "upper-case hex split over lines, JSON-escaped", path: "/pay", body: `{"order":` + jsonQ(mimeLines(strings.ToUpper(hx), 16, "\n")) + `}`, refused: true},
			{name: "percent-encoded MIME lines in a query", path: "/pay?order=" + url.QueryEscape(mimeLines(ct, 8, "\n")), body: `{}`, refused: true},
			{name: "its bytes as the body", path: "/upload", body: string(raw), refused: true},
			{name: "its bytes percent-escaped in a query", path: "/pay?order=" + url.QueryEscape(string(raw)), body: `{}`, refused: true},
			{name: "the provider's own, beside other base64 and hex", path: "/pay?sig=" + hexOf(chosenCiphertext(t, n+40)),
				header: orderHeader(base64.StdEncoding.EncodeToString([]byte(strings.Repeat("other data ", 40)))), body: `{"order":"A-1","note":"` + mimeLines(chosenCiphertext(t, n+20), 8, " ") + `"}`},
		}
		checkEchoCases(t, compileInline(t, echoDecrypt, Options{}), ct, fmt.Sprintf("%d bytes", n), cases)
	}
}

// TestSkeletons: what a lenient decoder reads of a text: its letters, lower-cased, and digits.
func TestSkeletons(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"", ""},
		{"ab+/==", "ab"},
		{"a-b_c", "abc"},
		{"DE:AD be-ef\r\n", "deadbeef"},
		{`{"x":"Zm9v"}`, "xzm9v"},
		{"\x00\xff\x80é Z", "z"},
		{"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", "0123456789abcdefghijklmnopqrstuvwxyz"},
	} {
		if got := string(appendSkeleton(nil, []byte(c.in), &alnumSkeleton)); got != c.want {
			t.Errorf("skeleton of %q = %q, want %q", c.in, got, c.want)
		}
	}
	if got := string(unescaped([]byte(`a\nb\r\tc\b\f`))); got != "a\nb\r\tc\b\f" {
		t.Errorf("JSON control escapes unescape to %q", got)
	}
}

// mimeLines is s broken every n characters by sep.
func mimeLines(s string, n int, sep string) string { return strings.Join(chunks(s, n), sep) }

func chunks(s string, n int) []string {
	var out []string
	for len(s) > n {
		out, s = append(out, s[:n]), s[n:]
	}
	return append(out, s)
}

// mixedCase upper-cases every other hex letter.
func mixedCase(h string) string {
	b := []byte(h)
	for i := 0; i < len(b); i += 2 {
		if 'a' <= b[i] && b[i] <= 'f' {
			b[i] -= 'a' - 'A'
		}
	}
	return string(b)
}

// TestEchoCheckAfterALongerCiphertext: the request's skeletons are built once per invocation
// for the texts long enough to hold the form looked for. A second decryption of a shorter
// ciphertext must not reuse the set built for the longer one: the short header that carries
// the caller's ciphertext was too short for the first and must be searched for the second.
func TestEchoCheckAfterALongerCiphertext(t *testing.T) {
	long, short := chosenCiphertext(t, 300), chosenCiphertext(t, 16)
	src := reqHead + `}` + respHead + `respBody.a = aes_cbc_pkcs5_decrypt(AesKey, base64_decode(respBody.long), AesIV);
respBody.b = aes_cbc_pkcs5_decrypt(AesKey, base64_decode(respBody.short), AesIV);
}`
	step := compileInline(t, src, Options{})
	x := newExchange("/pay", `{}`, &fakeTokens{})
	x.Request.Header.Set("X-Order", short)
	if err := step.SignRequest(context.Background(), x); err != nil {
		t.Fatal(err)
	}
	x.Response = &signerResponse{Status: 200, Header: http.Header{}, Body: []byte(`{"long":"` + long + `","short":"` + short + `"}`)}
	if err := step.ProcessResponse(context.Background(), x); err == nil || !strings.Contains(err.Error(), "only a ciphertext the provider sent") {
		t.Fatalf("the caller's ciphertext in a short header decrypted after a longer one (err %v), want the refusal", err)
	}
}
