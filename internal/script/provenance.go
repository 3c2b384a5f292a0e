package script

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"unicode/utf8"

	"github.com/keygate/keygate/internal/failure"
	"github.com/keygate/keygate/signer"
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
	if r := st.x.Request; r != nil && codedBody(r) {
		st.fatal(failure.New(failure.BadRequest, "script",
			"%s: under a secret IV only a ciphertext the provider sent may be decrypted, and the request body was sent with a content-encoding the check cannot read (send it uncoded)", fn))
	}
	body := st.x.Response.Body
	n := 2 + 2*len(ct) // hex is the longest form
	buf := st.borrow(n)
	defer st.giveBack(buf, n)
	// Sent, and in no form carried by the request: a caller's hex may come back as base64, and
	// the response's form alone would not be found in the request.
	sent := forEachEncoding(buf, ct, func(quoted []byte) bool { return contains(body, quoted) })
	if !sent || st.echoed(buf, ct) {
		if st.echo.timedOut {
			st.fatal(failure.New(failure.Timeout, "script",
				"%s: under a secret IV only a ciphertext the provider sent may be decrypted, and reading the request's texts for it took the rest of the script's time", fn))
		}
		if st.echo.over {
			st.fatal(failure.New(failure.BadRequest, "script",
				"%s: under a secret IV only a ciphertext the provider sent may be decrypted, and the request's texts decode to more than the script's memory budget of %d bytes holds, so the check could not read them all", fn, st.mem.limit))
		}
		st.fatal(failure.New(failure.Internal, "script",
			"%s: under a secret IV only a ciphertext the provider sent may be decrypted: a whole string of the response body, decoded", fn))
	}
}

// codedBody reports whether the request carries a body under a Content-Encoding other than
// identity: a gzip body a provider inflates may hold a caller's ciphertext that no reading of
// the coded bytes finds (TestRedTeamEchoedThroughOtherDecoders). Inflating it here would run a
// caller's decompression bomb in native code the watchdog cannot stop; refusing fails closed.
func codedBody(r *signer.Request) bool {
	if !r.HasBody() {
		return false
	}
	for _, v := range r.Header.Values("Content-Encoding") {
		for _, c := range strings.Split(v, ",") {
			if c = strings.TrimSpace(c); c != "" && !strings.EqualFold(c, "identity") {
				return true
			}
		}
	}
	return false
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

// unescapes offers each the text b reads as with its percent escapes (%2F) and JSON escapes
// (\/, \", \u002F, \n, ...) undone, leniently (a malformed percent escape stays as it is, a
// backslash goes), once, then again while that changes it, up to three times (an escape
// escaped again). Every level is offered, not the last alone: a ciphertext's raw bytes sent
// percent-escaped hold '%' and '\' of their own, which a further level would undo. It reads
// more text as the ciphertext than the provider may: the echo check then refuses more, never
// less.
func unescapes(b []byte, each func(u []byte)) {
	for range 3 {
		u := unescapeOnce(b)
		if len(u) == len(b) {
			return
		}
		each(u)
		b = u
	}
}

// unescaped is the last level unescapes offers, b itself when it holds no escape.
func unescaped(b []byte) []byte {
	unescapes(b, func(u []byte) { b = u })
	return b
}

// unescapeOnce undoes b's escapes once; b itself when it holds none.
func unescapeOnce(b []byte) []byte {
	if bytes.IndexByte(b, '%') < 0 && bytes.IndexByte(b, '\\') < 0 {
		return b
	}
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case c == '%' && i+2 < len(b) && isHex(b[i+1]) && isHex(b[i+2]):
			out = append(out, unhex(b[i+1])<<4|unhex(b[i+2]))
			i += 2
		case c == '\\' && i+5 < len(b) && b[i+1] == 'u' && isHex(b[i+2]) && isHex(b[i+3]) && isHex(b[i+4]) && isHex(b[i+5]):
			out = utf8.AppendRune(out, rune(unhex(b[i+2]))<<12|rune(unhex(b[i+3]))<<8|rune(unhex(b[i+4]))<<4|rune(unhex(b[i+5])))
			i += 5
		case c == '\\' && i+1 < len(b):
			out = append(out, jsonEscaped(b[i+1])) // \" \\ \/ as the character, \n as a line break
			i++
		default:
			out = append(out, c)
		}
	}
	return out
}

// jsonEscaped is the character a JSON escape \c stands for: \n, \r, \t, \b and \f are control
// characters (a ciphertext's text broken into lines comes back whole once they are skipped,
// echo.go), any other is itself.
func jsonEscaped(c byte) byte {
	switch c {
	case 'n':
		return '\n'
	case 'r':
		return '\r'
	case 't':
		return '\t'
	case 'b':
		return '\b'
	case 'f':
		return '\f'
	}
	return c
}

func isHex(c byte) bool { return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F' }

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	}
	return c - 'a' + 10
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
