package script

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/keygate/keygate/internal/secret"
	"github.com/keygate/keygate/signer"
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

// tenantKeys is signer.Keys over one tenant's own secret values.
type tenantKeys map[string]string

func (k tenantKeys) Secret(_ context.Context, _ *signer.Exchange, name string) (secret.Value, error) {
	v, ok := k[name]
	if !ok {
		return secret.Value{}, errors.New("no secret " + name)
	}
	return secret.FromString(v), nil
}

func (k tenantKeys) HMAC(context.Context, *signer.Exchange, string, string, []byte) ([]byte, error) {
	return nil, errors.New("no hmac")
}

func (k tenantKeys) Sign(context.Context, *signer.Exchange, string, string, []byte) ([]byte, error) {
	return nil, errors.New("no signing")
}

// scratchScript is the article's encryption, signing and decryption: the paths that use a
// runtime's scratch buffer (the provider-ciphertext check and the decryption) and its chunk
// (the encoders, the digest of the sign string).
const scratchScript = reqHead + `var pt = reqBody.get("data");
  reqBody.set("data", base64_encode(aes_cbc_pkcs5_encrypt(AesKey, pt, AesIV)));
  reqBody.set("sign", sha256(reqBody.buildSignStr()).toUpperCase());
}

function (respBody, AppKey, AesKey, AesIV, PrefixUrl, TokenUrl) {
  respBody["data"] = aes_cbc_pkcs5_decrypt(AesKey, base64_decode(respBody["data"]), AesIV);
}`

// TestRedTeamScratchKeepsEachRequestsData: two tenants with their own keys, each with its own
// step and runtimes, from many goroutines at once, with plaintexts whose lengths go up and
// down (a buffer reused without care would hand one request the tail of another's): every
// signed body decrypts, under its own tenant's key only, to its own plaintext, every decrypted
// answer is exactly its own, and each runtime's scratch buffer and chunk are all zero between
// requests.
func TestRedTeamScratchKeepsEachRequestsData(t *testing.T) {
	type tenant struct {
		name string
		keys tenantKeys
		step *Step
	}
	tenants := []*tenant{
		{name: "ta", keys: tenantKeys{"aes_key": "tenant-a-aes-key-0123456789abcde", "aes_iv": "tenant-a-iv-0001", "app_secret": "tenant-a-app-secret"}},
		{name: "tb", keys: tenantKeys{"aes_key": "tenant-b-aes-key-fedcba987654321", "aes_iv": "tenant-b-iv-0002", "app_secret": "tenant-b-app-secret"}},
	}
	for _, tn := range tenants {
		tn.step = compileInline(t, scratchScript, Options{})
	}
	seal := func(tn *tenant, plain string) string {
		return base64.StdEncoding.EncodeToString(cbcEncrypt([]byte(tn.keys["aes_key"]), []byte(tn.keys["aes_iv"]), []byte(plain)))
	}
	open := func(tn *tenant, b64 string) (string, bool) {
		ct, err := base64.StdEncoding.DecodeString(b64)
		if err != nil || len(ct) == 0 || len(ct)%16 != 0 {
			return "", false
		}
		pt := cbcDecrypt([]byte(tn.keys["aes_key"]), []byte(tn.keys["aes_iv"]), ct)
		return string(pt), pt != nil
	}
	ctx := context.Background()
	const goroutines, rounds = 6, 30
	var wg sync.WaitGroup
	errs := make(chan error, goroutines)
	for g := range goroutines {
		tn, other := tenants[g%2], tenants[1-g%2]
		wg.Go(func() {
			for i := range rounds {
				n := []int{3000, 17, 1500, 0, 4200, 31}[(i+g)%6]
				data := fmt.Sprintf("%s-g%d-i%d-", tn.name, g, i) + strings.Repeat(string(rune('a'+g)), n)
				x := newExchange("/p", fmt.Sprintf(`{"timestamp":"1700000000","data":%q}`, data), nil)
				x.Tenant, x.Keys = tn.name, tn.keys
				if err := tn.step.SignRequest(ctx, x); err != nil {
					errs <- fmt.Errorf("%s g%d i%d: sign: %v", tn.name, g, i, err)
					return
				}
				var sent map[string]string
				if err := json.Unmarshal(x.Request.Body(), &sent); err != nil {
					errs <- err
					return
				}
				if got, ok := open(tn, sent["data"]); !ok || got != data {
					errs <- fmt.Errorf("%s g%d i%d: the signed data does not decrypt to its own plaintext", tn.name, g, i)
					return
				}
				if got, _ := open(other, sent["data"]); got == data {
					errs <- fmt.Errorf("%s g%d i%d: the signed data opens under the other tenant's key", tn.name, g, i)
					return
				}
				answer := fmt.Sprintf("answer-%s-g%d-i%d-", tn.name, g, i) + strings.Repeat("z", []int{2000, 5, 900, 64, 3100, 0}[(i+2*g)%6])
				x.Response = &signer.Response{Status: 200, Header: http.Header{}, Body: []byte(`{"code":0,"data":"` + seal(tn, answer) + `"}`)}
				if err := tn.step.ProcessResponse(ctx, x); err != nil {
					errs <- fmt.Errorf("%s g%d i%d: response: %v", tn.name, g, i, err)
					return
				}
				if want := `{"code":0,"data":"` + answer + `"}`; string(x.Response.Body) != want {
					errs <- fmt.Errorf("%s g%d i%d: the decrypted answer is not its own (%d bytes, want %d)", tn.name, g, i, len(x.Response.Body), len(want))
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	lent := 0
	for _, tn := range tenants {
		for len(tn.step.pool) > 0 {
			v := <-tn.step.pool
			if bytes.ContainsFunc(v.st.scratch[:cap(v.st.scratch)], func(r rune) bool { return r != 0 }) {
				t.Errorf("%s: a runtime's scratch buffer holds data between requests", tn.name)
			}
			if v.st.chunk != [len(v.st.chunk)]byte{} {
				t.Errorf("%s: a runtime's chunk holds data between requests", tn.name)
			}
			if cap(v.st.scratch) > 0 {
				lent++
			}
		}
	}
	if lent == 0 {
		t.Error("no runtime kept a scratch buffer: the reuse this test is about did not happen")
	}
}

// TestBorrowLendsOneBufferAtATime: a second borrow while the scratch is out gets a buffer of
// its own (never the same memory); a buffer comes back wiped; one above maxScratch is not kept.
func TestBorrowLendsOneBufferAtATime(t *testing.T) {
	st := &callState{}
	a := append(st.borrow(100), strings.Repeat("a", 100)...)
	b := append(st.borrow(100), strings.Repeat("b", 100)...)
	if &a[0] == &b[0] {
		t.Fatal("two borrows share one buffer")
	}
	st.giveBack(b, len(b))
	st.giveBack(a, len(a))
	if bytes.ContainsFunc(a[:cap(a)], func(r rune) bool { return r != 0 }) || bytes.ContainsFunc(b[:cap(b)], func(r rune) bool { return r != 0 }) {
		t.Fatal("a buffer came back holding its data")
	}
	c := st.borrow(50)
	if len(c) != 0 || cap(c) < 100 || (&c[:1][0] != &a[0] && &c[:1][0] != &b[0]) {
		t.Fatal("the buffer given back is not lent again")
	}
	st.giveBack(c, 0)
	most := st.borrow(maxScratch)
	st.giveBack(most, 0)
	if cap(st.scratch) != maxScratch {
		t.Fatalf("a scratch buffer of maxScratch bytes was not kept (%d kept)", cap(st.scratch))
	}
	big := st.borrow(maxScratch + 1)
	st.giveBack(big, 0)
	if cap(st.scratch) > maxScratch {
		t.Fatalf("a %d-byte scratch buffer was kept", cap(st.scratch))
	}
}

// TestJSONTextComparesAcrossForms: a body's JSON written by Go (bytes) or by goja (a string)
// compares by its text whichever way each side was written, and finds a marker either way.
func TestJSONTextComparesAcrossForms(t *testing.T) {
	inGo := func(s string) jsonText { return jsonText{b: []byte(s), inGo: true} }
	inGoja := func(s string) jsonText { return jsonText{s: s} }
	for _, a := range []func(string) jsonText{inGo, inGoja} {
		for _, b := range []func(string) jsonText{inGo, inGoja} {
			if !a(`{"a":1}`).same(b(`{"a":1}`)) || a(`{"a":1}`).same(b(`{"a":2}`)) || a(`{}`).same(b(`{"a":1}`)) {
				t.Fatal("same compares other than by text")
			}
		}
		if !a(`{"a":1}`).equal([]byte(`{"a":1}`)) || a(`{"a":1}`).equal([]byte(`{"a":1} `)) {
			t.Fatal("equal compares other than by text")
		}
		if got := a(`{"a":"x"}`); got.String() != `{"a":"x"}` || string(got.bytes()) != `{"a":"x"}` {
			t.Fatal("String or bytes is not the text")
		}
		for _, m := range []string{string(markOpen), string(markClose)} {
			if !a(`{"a":"` + m + `"}`).hasMarker() {
				t.Fatalf("a marker character %q was not found", m)
			}
		}
		if a(`{"a":"x"}`).hasMarker() {
			t.Fatal("a marker found in plain text")
		}
	}
}

// TestIndexMarkerStartIsTheRuneLoop: the byte search for a marker character finds what a loop
// over the runes finds, first occurrence included, in text with markers, their neighbours
// (U+E002, U+DFFF's bytes), truncated sequences and invalid bytes.
func TestIndexMarkerStartIsTheRuneLoop(t *testing.T) {
	runeLoop := func(s string) int {
		for i, r := range s {
			if r == markOpen || r == markClose {
				return i
			}
		}
		return -1
	}
	parts := []string{"a", "é", string(markOpen), string(markClose), "\uE002", "\uF000", "\xee", "\xee\x80", "\xee\x80\x82", "\xe0", "\xed\xbf\xbf", "\x80", "\xff", "kg:", "0123456789"}
	rng := mrand.New(mrand.NewPCG(3, 4))
	for range 20000 {
		var b strings.Builder
		for range rng.IntN(8) {
			b.WriteString(parts[rng.IntN(len(parts))])
		}
		s := b.String()
		if got, want := indexMarkerStart(s), runeLoop(s); got != want {
			t.Fatalf("indexMarkerStart(%q) = %d, the rune loop %d", s, got, want)
		}
	}
}
