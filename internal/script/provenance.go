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
	body := st.x.Response.Body
	for _, enc := range encodingsOf(ct) {
		if bytes.Contains(body, []byte(`"`+enc+`"`)) && !st.echoed(enc) {
			return
		}
	}
	st.fatal(failure.New(failure.Internal, "script",
		"%s: under a secret IV only a ciphertext the provider sent may be decrypted: a whole string of the response body, decoded", fn))
}

// encodingsOf are the forms a ciphertext travels in as a JSON string.
func encodingsOf(ct []byte) []string {
	h := hex.EncodeToString(ct)
	out := []string{h, strings.ToUpper(h)}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		s := enc.EncodeToString(ct)
		out = append(out, s)
		if strings.Contains(s, "/") {
			out = append(out, strings.ReplaceAll(s, "/", `\/`)) // JSON may escape the slash
		}
	}
	return out
}

// echoed reports whether s appears in the request as sent: its path, body or a header value.
func (st *callState) echoed(s string) bool {
	r := st.x.Request
	if r == nil {
		return false
	}
	if strings.Contains(r.Path, s) || bytes.Contains(r.Body(), []byte(s)) {
		return true
	}
	for _, vs := range r.Header {
		for _, v := range vs {
			if strings.Contains(v, s) {
				return true
			}
		}
	}
	return false
}
