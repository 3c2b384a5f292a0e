package script

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"strings"

	"github.com/keygate/keygate/internal/failure"
)

// providerCiphertext fails the request unless ct is a ciphertext the provider sent: in the
// response function, a whole string of the response body as received, in hex or base64 (std
// or URL alphabet, padded or not, "/" escaped or not). Decrypting under a secret IV is otherwise
// an IV oracle (cipher.go).
//
// A whole string, not a part: dropping a ciphertext's first blocks would make a later block
// the first, decrypted under the IV instead of the block before it. Not a string the request
// carried: a provider that echoes a caller's field (an order number) would otherwise decrypt a
// ciphertext the caller chose. A provider that returns caller data stored from an earlier
// request defeats this; docs/custom-mode.md says what a fixed secret IV can and cannot protect.
func (st *callState) providerCiphertext(fn string, ct []byte) {
	if !st.inResponse || st.x.Response == nil {
		st.fatal(failure.New(failure.Internal, "script",
			"%s: decrypting under a secret IV is only for the provider's response, in the response function", fn))
	}
	if st.x.Response.Chosen {
		st.fatal(failure.New(failure.BadRequest, "script",
			"%s: under a secret IV only a ciphertext the provider sent may be decrypted, and the caller chose the response (a pasted answer in a dry run by a role that may not see secrets)", fn))
	}
	body := st.x.Response.Body
	n := 2 + 2*len(ct) // hex is the longest form
	buf := st.borrow(n)
	defer st.giveBack(buf, n)
	if !forEachEncoding(buf, ct, func(quoted []byte) bool {
		return contains(body, quoted) && !st.echoed(quoted[1:len(quoted)-1])
	}) {
		st.fatal(failure.New(failure.Internal, "script",
			"%s: under a secret IV only a ciphertext the provider sent may be decrypted: a whole string of the response body, decoded", fn))
	}
}

// forEachEncoding offers ok each form a ciphertext travels in as a JSON string, quotes
// included, until ok accepts one; it reports whether one was accepted. The forms are built one
// at a time in one buffer, the likeliest (standard base64) first: a response's ciphertext is
// usually found by the first, and building all eight forms of a 4 KiB ciphertext up front was a
// fifth of the script path's CPU (profiled). buf has room for the longest, hex (2+2*len(ct)):
// the runtime's scratch, not a 6 KiB allocation per decryption.
func forEachEncoding(buf, ct []byte, ok func(quoted []byte) bool) bool {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		buf = append(enc.AppendEncode(append(buf[:0], '"'), ct), '"')
		if ok(buf) {
			return true
		}
		if bytes.IndexByte(buf, '/') >= 0 && ok(bytes.ReplaceAll(buf, []byte("/"), []byte(`\/`))) { // JSON may escape the slash
			return true
		}
	}
	buf = append(hex.AppendEncode(append(buf[:0], '"'), ct), '"')
	return ok(buf) || ok(bytes.ToUpper(buf))
}

// echoed reports whether s appears in the request as sent: its path, body or a header value.
func (st *callState) echoed(s []byte) bool {
	r := st.x.Request
	if r == nil {
		return false
	}
	if holds(r.Path, s) || contains(r.Body(), s) {
		return true
	}
	for _, vs := range r.Header {
		for _, v := range vs {
			if holds(v, s) {
				return true
			}
		}
	}
	return false
}

// holds is strings.Contains(in, string(s)) without copying a ciphertext into a string for
// every header too short to hold it (most of them: a 4 KiB ciphertext copied once per header
// was the script path's largest allocation, profiled).
func holds(in string, s []byte) bool {
	return len(in) >= len(s) && strings.Contains(in, string(s))
}

// contains is bytes.Contains for a long needle: a ciphertext in one of its encodings, 4 KiB
// and more. For a needle that long, bytes.Index gives up its first-byte scan after a few false
// starts and hashes the whole needle (Rabin-Karp); in a JSON body, whose every string starts
// with the needle's first byte, that was 7% of the script path's CPU (profiled). Here the
// needle's first bytes are found by the vectorised search for short needles and each place
// they occur is compared whole; after a few false starts (a body that repeats them) the rest
// goes to bytes.Contains, so the worst case costs what bytes.Contains costs, plus those few.
func contains(hay, needle []byte) bool {
	const prefix, tries = 32, 8
	if len(needle) <= 2*prefix {
		return bytes.Contains(hay, needle)
	}
	for range tries {
		i := bytes.Index(hay, needle[:prefix])
		if i < 0 {
			return false
		}
		if bytes.HasPrefix(hay[i:], needle) {
			return true
		}
		hay = hay[i+1:]
	}
	return bytes.Contains(hay, needle)
}
