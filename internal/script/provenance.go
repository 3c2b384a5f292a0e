package script

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"strings"

	"github.com/keygate/keygate/internal/failure"
)

// providerCiphertext fails the request unless ct is a ciphertext the provider sent: in the
// response function, the decoding of a whole string of the response body as received (raw,
// hex, base64 or base64url). Decrypting under a secret IV is otherwise an IV oracle (cipher.go).
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
	if st.sent == nil {
		st.sent = responseStrings(st.x.Response.Body)
	}
	for _, s := range st.sent {
		if st.echoed(s) {
			continue
		}
		for _, dec := range decodings(s) {
			if bytes.Equal(dec, ct) {
				return
			}
		}
	}
	st.fatal(failure.New(failure.Internal, "script",
		"%s: under a secret IV only a ciphertext the provider sent may be decrypted: a whole string of the response body, decoded", fn))
}

// responseStrings returns every string (member names too) of a JSON body; nil if none.
func responseStrings(body []byte) []string {
	out := []string{}
	dec := json.NewDecoder(bytes.NewReader(body))
	for {
		tok, err := dec.Token()
		if err != nil {
			return out
		}
		if s, ok := tok.(string); ok {
			out = append(out, s)
		}
	}
}

func decodings(s string) [][]byte {
	out := [][]byte{[]byte(s)}
	if b, err := hex.DecodeString(s); err == nil {
		out = append(out, b)
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			out = append(out, b)
		}
		if b, err := enc.DecodeString(strings.TrimRight(s, "=")); err == nil {
			out = append(out, b)
		}
	}
	return out
}

// echoed reports whether s appears in the request as sent: its path, body or a header value.
func (st *callState) echoed(s string) bool {
	r := st.x.Request
	if r == nil || len(s) < 4 {
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
