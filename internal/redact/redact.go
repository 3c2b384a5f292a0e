// Package redact finds secret values in text in the forms they travel in (as is, base64,
// base64url, hex, URL-encoded) and replaces them with [redacted]. `keygate sign` uses it as a
// backstop on its output; the leak-scan tests use it to prove no secret reached a log, metric,
// error or reply.
package redact

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"net/url"
	"strings"

	"github.com/keygate/keygate/internal/secret"
)

// MinLen is the shortest value worth scanning for; shorter ones match ordinary text.
const MinLen = 6

// Set is a set of secret values to look for.
type Set struct{ forms [][]byte }

// Add adds a value, in every form it may travel in.
func (s *Set) Add(v secret.Value) { s.AddBytes(v.Reveal()) }

// AddBytes adds raw bytes.
func (s *Set) AddBytes(b []byte) {
	if len(b) < MinLen {
		return
	}
	str := string(b)
	for _, f := range []string{
		str,
		base64.StdEncoding.EncodeToString(b), base64.RawStdEncoding.EncodeToString(b),
		base64.URLEncoding.EncodeToString(b), base64.RawURLEncoding.EncodeToString(b),
		hex.EncodeToString(b), strings.ToUpper(hex.EncodeToString(b)),
		url.QueryEscape(str), url.PathEscape(str),
	} {
		s.forms = append(s.forms, []byte(f))
	}
}

// AddExact adds b as it is, whatever its length: a value a step marked as carrying a secret
// (a token written into a header) is tainted as a whole, so even a short one is redacted.
func (s *Set) AddExact(b []byte) {
	if len(b) > 0 {
		s.forms = append(s.forms, bytes.Clone(b))
	}
}

// Empty reports whether nothing was added.
func (s *Set) Empty() bool { return len(s.forms) == 0 }

// Apply replaces every occurrence of every form with [redacted]. Longer forms go first so a
// value's encoding is not half-replaced by a shorter overlapping value.
func (s *Set) Apply(text []byte) []byte {
	forms := append([][]byte(nil), s.forms...)
	for i := 1; i < len(forms); i++ { // insertion sort by length, descending; sets are small
		for j := i; j > 0 && len(forms[j]) > len(forms[j-1]); j-- {
			forms[j], forms[j-1] = forms[j-1], forms[j]
		}
	}
	for _, f := range forms {
		text = bytes.ReplaceAll(text, f, []byte(secret.Redacted))
	}
	return text
}

// Find reports the first form found in text, described without the value ("base64 form of
// value 2"), or "" if none is there.
func (s *Set) Find(text []byte) (found bool, index int) {
	for i, f := range s.forms {
		if bytes.Contains(text, f) {
			return true, i
		}
	}
	return false, -1
}
