package script

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/keygate/keygate/internal/secret"
)

// TestEncodeStringMatchesEncodeToString: the encoders' one-allocation encoding (through the
// runtime's chunk buffer, in groups of 3 bytes) is the standard library's, at every length
// around the chunk's boundaries, padding included; the chunk is left cleared.
func TestEncodeStringMatchesEncodeToString(t *testing.T) {
	st := &callState{}
	src := make([]byte, 3*len(st.chunk)+7)
	_, _ = rand.Read(src)
	for n := 0; n <= len(src); n++ {
		b := src[:n]
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawURLEncoding, base64.URLEncoding, base64.RawStdEncoding} {
			if got, want := st.encodeString(enc, b), enc.EncodeToString(b); got != want {
				t.Fatalf("base64 of %d bytes: %q, want %q", n, got, want)
			}
		}
		if got, want := st.encodeString(nil, b), hex.EncodeToString(b); got != want {
			t.Fatalf("hex of %d bytes: %q, want %q", n, got, want)
		}
		if st.chunk != [len(st.chunk)]byte{} {
			t.Fatalf("the chunk holds %d bytes' encoding after it was used", n)
		}
	}
	if n := testing.AllocsPerRun(20, func() { _ = st.encodeString(base64.StdEncoding, src) }); n != 1 {
		t.Errorf("encodeString: %v allocations, want 1 (the string)", n)
	}
}

// TestWriteTextHashesTheText: text written to a hash through the chunk buffer hashes as the
// text itself, at every length around the chunk's size, and leaves the chunk cleared.
func TestWriteTextHashesTheText(t *testing.T) {
	st := &callState{}
	text := strings.Repeat("0123456789abcdef", 3*len(st.chunk)/16+1)
	for n := 0; n <= len(text); n++ {
		h := sha256.New()
		st.writeText(h, text[:n])
		if got, want := h.Sum(nil), sha256.Sum256([]byte(text[:n])); !bytes.Equal(got, want[:]) {
			t.Fatalf("hash of %d bytes written in chunks differs", n)
		}
		if st.chunk != [len(st.chunk)]byte{} {
			t.Fatalf("the chunk holds text after writing %d bytes", n)
		}
	}
}

// TestJoinAllocatesOnce: a key joined from text and a secret is built in one buffer of its
// size; a buffer grown by append would leave each outgrown copy of the secret behind, where
// wipe never reaches it.
func TestJoinAllocatesOnce(t *testing.T) {
	st := &callState{}
	st.handles.list = []handle{{name: "k", val: secret.New([]byte(strings.Repeat("s", 100))), loaded: true}}
	ps := []piece{{text: "AWS4"}, {h: &st.handles.list[0]}, {text: strings.Repeat("t", 1000)}}
	want := "AWS4" + strings.Repeat("s", 100) + strings.Repeat("t", 1000)
	if got := st.join(ps); string(got) != want || cap(got) != len(want) {
		t.Fatalf("join: %d bytes, capacity %d; want the %d bytes joined, no more", len(got), cap(got), len(want))
	}
	if n := testing.AllocsPerRun(20, func() { wipe(st.join(ps), true) }); n != 1 {
		t.Errorf("join: %v allocations, want 1", n)
	}
}

// TestReqBodyGetIsJSONParse: reqBody.get hands a string without escapes over from its one
// copy of the field; every field, plain or not (escaped, non-ASCII, beyond the 64 members the
// plain flag covers, numbers, literals, containers), reads as JSON.parse of the body reads it.
func TestReqBodyGetIsJSONParse(t *testing.T) {
	body := `{"plain":"` + strings.Repeat("abc/+=", 700) + `","empty":"","esc":"a\"b\\c\n\u00e9","utf":"üñí€😀",` +
		`"n":-1.5e3,"t":true,"f":false,"z":null,"o":{"k":["v",1]},"a":[1,"x"],"sp":" a b "`
	for i := range 70 {
		body += `,"m` + strings.Repeat("x", i) + `":"v` + strings.Repeat("y", i) + `"`
	}
	body += `}`
	step := compileInline(t, reqHead+`var all = JSON.parse(reqBody.raw()), bad = [];
  for (var k in all) {
    var got = reqBody.get(k), want = all[k];
    if (typeof got !== typeof want || JSON.stringify(got) !== JSON.stringify(want)) { bad.push(k) }
  }
  reqHeaders.set("X-Bad", bad.join(",") || "none");
}`, Options{})
	x := newExchange("/p", body, nil)
	if err := step.SignRequest(context.Background(), x); err != nil {
		t.Fatal(err)
	}
	if got := x.Request.Header.Get("X-Bad"); got != "none" {
		t.Fatalf("reqBody.get differs from JSON.parse for %s", got)
	}
}
