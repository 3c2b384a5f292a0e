package script

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base32"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/keygate/keygate/internal/config"
)

// TestRedTeamEchoedThroughOtherDecoders: the echo check read the request as percent and JSON
// escapes, base64, hex and raw bytes. A provider's decoder reads more, and a caller-chosen
// ciphertext sent in such a form and echoed back as the provider's base64 was decrypted under
// the secret IV (the IV oracle):
//   - a Go provider's []byte field takes a JSON array of decimal bytes ([12,250,...]) and
//     marshals it back as base64 (encoding/json);
//   - a form or query decoder reads '+' as a space, which a lenient base64 decoder skips;
//   - repeated header lines are one field value joined by ", " (RFC 9110 5.3);
//   - a JSON string's \u00XX escapes read as Latin-1 bytes (Java's getBytes(ISO_8859_1));
//   - a MIME part's quoted-printable (=XX, printable bytes as they are, soft line breaks);
//   - base32;
//   - a body sent with Content-Encoding: gzip, which the provider inflates.
//
// Each must be refused; the provider's own ciphertext must still decrypt beside such texts.
func TestRedTeamEchoedThroughOtherDecoders(t *testing.T) {
	for _, n := range []int{16, 200} {
		ct := chosenCiphertext(t, n)
		raw, _ := base64.StdEncoding.DecodeString(ct)
		var dec, latin1, qp strings.Builder
		for i, b := range raw {
			fmt.Fprintf(&dec, "%s%d", map[bool]string{true: "", false: ","}[i == 0], b)
			fmt.Fprintf(&latin1, `\u%04x`, b)
			if b >= 33 && b <= 126 && b != '=' {
				qp.WriteByte(b)
			} else {
				fmt.Fprintf(&qp, "=%02X", b)
			}
			if i%20 == 19 {
				qp.WriteString("=\r\n")
			}
		}
		half := len(ct) / 2
		var gz bytes.Buffer
		zw := gzip.NewWriter(&gz)
		_, _ = zw.Write([]byte(`{"order":"` + ct + `"}`))
		_ = zw.Close()
		cases := []echoCase{
			{name: "decimal bytes in a JSON array", path: "/pay", body: `{"order":[` + dec.String() + `]}`, refused: true},
			{name: "a query with '+' for the spaces between chunks", path: "/pay?order=" + url.QueryEscape(mimeLines(ct, 4, " ")), body: `{}`, refused: true},
			{name: "a form body with '+' between chunks", path: "/pay", body: "order=" + url.QueryEscape(mimeLines(ct, 4, " ")), refused: true},
			{name: "a header split over two lines", path: "/pay", body: `{}`, header: map[string][]string{"X-Order": {ct[:half], ct[half:]}}, refused: true},
			{name: "Latin-1 \\u escapes of its bytes", path: "/pay", body: `{"order":"` + latin1.String() + `"}`, refused: true},
			{name: "a quoted-printable MIME part", path: "/upload", body: "--b\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n" + qp.String() + "\r\n--b--\r\n",
				header: map[string][]string{"Content-Type": {"multipart/form-data; boundary=b"}}, refused: true},
			{name: "base32 in a query", path: "/pay?order=" + base32.StdEncoding.EncodeToString(raw), body: `{}`, refused: true},
			{name: "unpadded lower-case base32 in a header", path: "/pay", body: `{}`, header: map[string][]string{"X-Order": {strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(raw))}}, refused: true},
			{name: "its base64 text, base64-encoded in a JSON field", path: "/pay", body: `{"id":"A-1","payload":"` + base64.StdEncoding.EncodeToString([]byte(`{"order":"`+ct+`"}`)) + `"}`, refused: true},
			{name: "its base64 text, hex-encoded in a query", path: "/pay?p=" + fmt.Sprintf("%x", ct), body: `{}`, refused: true},
			{name: "UTF-16LE JSON whose characters are its bytes", path: "/pay", body: utf16LE(`{"order":"` + string(latin1Runes(raw)) + `"}`),
				header: map[string][]string{"Content-Type": {"application/json; charset=utf-16le"}}, refused: true},
			{name: "UTF-32BE JSON with its bytes as \\u escapes", path: "/pay", body: utf32BE(`{"order":"` + latin1.String() + `"}`), refused: true},
			{name: "a query parameter repeated (Express joins the values with commas)", path: "/pay?order=" + url.QueryEscape(ct[:half]) + "&order=" + url.QueryEscape(ct[half:]), body: `{}`, refused: true},
			{name: "a query list by index, sent out of order, names escaped", path: "/pay?%6Frder%5B1%5D=" + url.QueryEscape(ct[half:]) + "&x=1&order[0]=" + url.QueryEscape(ct[:half]), body: `{}`, refused: true},
			{name: "a form body's repeated field", path: "/pay", body: "order=" + url.QueryEscape(ct[:half]) + "&order=" + url.QueryEscape(ct[half:]),
				header: map[string][]string{"Content-Type": {"application/x-www-form-urlencoded"}}, refused: true},
			{name: "base64 of a version byte then its bytes (the provider strips the byte)", path: "/pay", body: `{"order":"` + base64.StdEncoding.EncodeToString(append([]byte{1}, raw...)) + `"}`, refused: true},
			{name: "a gzip body", path: "/pay", body: gz.String(), header: map[string][]string{"Content-Encoding": {"gzip"}}, refused: true},
			{name: "the provider's own beside such texts", path: "/pay?q=a+b+c&d=" + base32.StdEncoding.EncodeToString([]byte("other")),
				body: `{"order":[1,2,3,250],"name":"caf\u00e9 =41=42"}`, header: map[string][]string{"X-A": {"x", "y"}}},
		}
		checkEchoCases(t, compileInline(t, echoDecrypt, Options{}), ct, fmt.Sprintf("%d bytes", n), cases)
	}
}

// latin1Runes is b as characters U+0000 to U+00FF, one per byte.
func latin1Runes(b []byte) []rune {
	out := make([]rune, len(b))
	for i, c := range b {
		out[i] = rune(c)
	}
	return out
}

func utf16LE(s string) string {
	var b []byte
	for _, r := range s {
		b = append(b, byte(r), byte(r>>8))
	}
	return string(b)
}

func utf32BE(s string) string {
	var b []byte
	for _, r := range s {
		b = append(b, byte(r>>24), byte(r>>16), byte(r>>8), byte(r))
	}
	return string(b)
}

// TestEchoCheckCostIsBounded: the echo check runs native code the script's watchdog cannot
// interrupt, over the caller's request. A hostile 1 MiB body built to make every decoding
// (three levels of escapes, '+', quoted-printable, decimal numbers, Latin-1 characters, UTF-16,
// a form's fields) and a header repeated must cost a bounded multiple of its size: the
// decodings are built once per invocation, not once per class, and what they and their
// skeletons hold counts against what is left of the script's memory budget; past it the
// decryption is refused (fail closed). Measured on a loaded 2-CPU host: 4 to 40 MiB and 14 to
// 170 ms per 1 MiB body (more under -race), a 7 KiB body's check about 100 us more than before
// these decodings. Allocation counts are the process's (loose bounds: -race adds its own).
func TestEchoCheckCostIsBounded(t *testing.T) {
	ct := chosenCiphertext(t, 16)
	src := reqHead + `}` + respHead + `respBody.plain = aes_cbc_pkcs5_decrypt(AesKey, base64_decode(respBody.data), AesIV);
}`
	mixed := `%25+=41é1,\u00e9`
	run := func(step *Step, unit string) (uint64, time.Duration, error) {
		body := strings.Repeat(unit, (1<<20)/len(unit))
		x := newExchange("/pay", body, &fakeTokens{})
		x.Request.Header["X-A"] = []string{body[:4096], body[:4096]}
		x.Request.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if err := step.SignRequest(context.Background(), x); err != nil {
			t.Fatal(err)
		}
		x.Response = &signerResponse{Status: 200, Header: http.Header{}, Body: []byte(`{"data":"` + ct + `"}`)}
		var m0, m1 runtime.MemStats
		runtime.ReadMemStats(&m0)
		start := time.Now()
		err := step.ProcessResponse(context.Background(), x)
		took := time.Since(start)
		runtime.ReadMemStats(&m1)
		return m1.TotalAlloc - m0.TotalAlloc, took, err
	}
	const refusal = "decode to more than the script's memory budget"
	step := compileInline(t, src, Options{})
	for _, unit := range []string{"%2525", "a+b+", "=41=", "1,2,", `é\u00e9`, "QUJD", "abcd", "\x00%\x002\x005\x00é", "&=", "a=%2B+&", mixed} {
		alloc, took, err := run(step, unit)
		if err != nil && !strings.Contains(err.Error(), refusal) {
			t.Fatalf("%q: %v", unit, err)
		}
		t.Logf("1 MiB of %q: %v, %d KiB allocated, refused: %v", unit, took, alloc>>10, err != nil)
		if alloc > 64<<20 {
			t.Errorf("1 MiB of %q: the echo check allocated %d MiB", unit, alloc>>20)
		}
	}
	// A small budget: the hostile body is refused once the views reach it, not read whole.
	small, err := Compile(config.Script{Inline: src, MemoryBytes: 2 << 20}, testBuild(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	alloc, _, err := run(small, mixed)
	if err == nil || !strings.Contains(err.Error(), refusal) {
		t.Errorf("a 2 MiB budget, 1 MiB of %q: err %v, want the refusal", mixed, err)
	}
	t.Logf("2 MiB budget: %d KiB allocated", alloc>>10)
	if alloc > 16<<20 {
		t.Errorf("a 2 MiB budget, 1 MiB of %q: the echo check allocated %d MiB", mixed, alloc>>20)
	}
}

// TestDecodingsReadWhatProvidersDecode: each decoding reads its text as the provider's decoder
// named in decodings does, leniently, never past the text.
func TestDecodingsReadWhatProvidersDecode(t *testing.T) {
	for _, c := range []struct {
		name    string
		f       func([]byte) []byte
		in, out string
	}{
		{"decimal", decimalBytes, `{"o":[0,65,255,-1,-128,256,-129,7,1,1,1,1,1,1,1,1]}`, "\x00A\xff\xff\x80\x07\x01\x01\x01\x01\x01\x01\x01\x01"},
		{"decimal none", decimalBytes, `{"o":"x"}`, ""},
		{"quoted-printable", unQuotedPrintable, "a=41=\r\nb=4=\nc=zz=", "aAb=4c=zz="},
		{"Latin-1", latin1, "caf\u00e9\u00ff\u0100x\xc3", "caf\xe9\xff\u0100x\xc3"},
		{"form", formDecoded, "a+b%2B%2", "a b+%2"},
	} {
		if got := string(c.f([]byte(c.in))); got != c.out {
			t.Errorf("%s of %q = %q, want %q", c.name, c.in, got, c.out)
		}
	}
}

// TestEchoCheckStopsAtTheScriptsTime: the watchdog's interrupt reaches the runtime only when
// native code returns, and reading a hostile 1 MiB body's decodings took longer than the
// production script time (50 ms) on a loaded host. The check stops between views once the
// invocation's time is up, and the decryption is refused as a timeout.
func TestEchoCheckStopsAtTheScriptsTime(t *testing.T) {
	ct := chosenCiphertext(t, 16)
	src := reqHead + `}` + respHead + `respBody.plain = aes_cbc_pkcs5_decrypt(AesKey, base64_decode(respBody.data), AesIV);
}`
	step := compileInline(t, src, Options{DefaultTimeout: time.Millisecond})
	body := strings.Repeat(`%25+=41é1,\u00e9QUJDabcd`, (1<<20)/28)
	x := newExchange("/pay", body, &fakeTokens{})
	if err := step.SignRequest(context.Background(), x); err != nil {
		t.Fatal(err)
	}
	x.Response = &signerResponse{Status: 200, Header: http.Header{}, Body: []byte(`{"data":"` + ct + `"}`)}
	start := time.Now()
	err := step.ProcessResponse(context.Background(), x)
	took := time.Since(start)
	if err == nil || !strings.Contains(err.Error(), "took the rest of the script's time") {
		t.Errorf("err %v, want the check's timeout", err)
	}
	t.Logf("stopped after %v", took)
}

// TestEchoViewsWipedBetweenRequests: the echo check's views hold a caller's request, and a
// runtime serves the provider's next request from its pool. After an invocation every kept
// skeleton buffer is zero and no view is referenced, refused or not, so a later request on
// the runtime cannot observe an earlier one's data.
func TestEchoViewsWipedBetweenRequests(t *testing.T) {
	ct := chosenCiphertext(t, 200)
	src := reqHead + `}` + respHead + `respBody.plain = aes_cbc_pkcs5_decrypt(AesKey, base64_decode(respBody.data), AesIV);
}`
	step := compileInline(t, src, Options{})
	marker := base64.StdEncoding.EncodeToString([]byte(strings.Repeat("earlier caller's data ", 20)))
	for _, echo := range []bool{false, true} {
		body := `{"note":"` + marker + `","n":[` + strings.Repeat("1,", 40) + `2]}`
		if echo {
			body = `{"order":"` + ct + `"}`
		}
		x := newExchange("/pay?a="+marker+"&a=x", body, &fakeTokens{})
		x.Request.Header["X-A"] = []string{marker, marker}
		x.Request.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if err := step.SignRequest(context.Background(), x); err != nil {
			t.Fatal(err)
		}
		x.Response = &signerResponse{Status: 200, Header: http.Header{}, Body: []byte(`{"data":"` + ct + `"}`)}
		if err := step.ProcessResponse(context.Background(), x); (err != nil) != echo {
			t.Fatalf("echo %v: %v", echo, err)
		}
		v, err := step.get()
		if err != nil {
			t.Fatal(err)
		}
		e := &v.st.echo
		if e.of != nil || e.used != 0 || e.over || e.late != nil {
			t.Errorf("echo %v: the views' state outlived the invocation", echo)
		}
		for name, s := range map[string]*skeletonSet{"alnum": &e.alnum, "raw": &e.raw} {
			if slices.ContainsFunc(s.buf[:cap(s.buf)], func(b byte) bool { return b != 0 }) {
				t.Errorf("echo %v: the %s skeletons' kept buffer holds the earlier request's data", echo, name)
			}
			if slices.ContainsFunc(s.texts[:cap(s.texts)], func(b []byte) bool { return b != nil }) || s.min != 0 || len(s.spans) != 0 {
				t.Errorf("echo %v: the %s views still reference the earlier request", echo, name)
			}
		}
		step.put(v)
	}
}
