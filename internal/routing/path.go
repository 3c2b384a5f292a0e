package routing

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// maxDecode bounds how many times CheckPath percent-decodes a segment looking for a hidden dot
// segment or slash: an upstream that decodes twice ("%252e%252e") must not find one either.
const maxDecode = 3

// lookalikes are the characters NFKC (applied by some servers and frameworks) maps to '.', '/'
// or '\': fullwidth full stop, solidus and reverse solidus, one dot leader, small full stop,
// division slash.
const lookalikes = "\uff0e\uff0f\uff3c\u2024\ufe52\u2215"

// CheckPath is the rule for the caller's :path before keygate puts the provider's prefix in
// front of it: the request must stay under the prefix whatever the upstream does with it. The
// path part (before '?') must start with '/', and no segment, decoded once or more, may be "."
// or ".." (also before a ';' path parameter, "..;x"), hold a '/' or '\' (an encoded slash), hold a control character, or be empty (except
// a final trailing '/'); percent escapes must be well formed. Envoy normalizes first (egress HCM:
// normalize_path, merge_slashes, escaped slashes rejected), so a request Envoy forwards passes;
// this is the check on exactly what keygate prefixes, should Envoy be configured otherwise. The
// query is left alone: it does not take part in path resolution.
func CheckPath(p string) error {
	path, _, _ := strings.Cut(p, "?")
	if !strings.HasPrefix(path, "/") {
		return fmt.Errorf("does not start with '/'")
	}
	// Segment by segment (strings.Split would allocate them all): an empty one is allowed
	// only last ("/" or a trailing slash).
	for rest := path[1:]; ; {
		seg, more, found := strings.Cut(rest, "/")
		if seg == "" {
			if !found {
				return nil
			}
			return fmt.Errorf("has an empty segment ('//')")
		}
		if err := checkSegment(seg); err != nil {
			return err
		}
		if !found {
			return nil
		}
		rest = more
	}
}

func checkSegment(seg string) error {
	for level := 0; ; level++ {
		if strings.ContainsRune(seg, '\\') {
			return fmt.Errorf("has a backslash")
		}
		// "..;x" is ".." to servers that strip path parameters (Tomcat, Jetty, Spring).
		if base, _, _ := strings.Cut(seg, ";"); base == "." || base == ".." {
			return fmt.Errorf("has a dot segment (%q)", seg)
		}
		for i := 0; i < len(seg); i++ {
			if c := seg[i]; c < 0x20 || c == 0x7f {
				return fmt.Errorf("has control character %#02x", c)
			}
		}
		if !utf8.ValidString(seg) {
			// Overlong forms ("%c0%ae" for '.') are how some decoders hide dots and slashes.
			return fmt.Errorf("has bytes that are not UTF-8")
		}
		if strings.ContainsAny(seg, lookalikes) {
			return fmt.Errorf("has a character that Unicode normalization turns into '.', '/' or '\\'")
		}
		if !strings.Contains(seg, "%") {
			return nil
		}
		// The first decoding is the one every upstream does: a malformed escape is an error.
		// Later ones are what a double-decoding upstream might do: a stray '%' stays literal.
		dec, ok := percentDecode(seg, level > 0)
		switch {
		case !ok:
			return fmt.Errorf("has a malformed percent escape")
		case dec == seg:
			return nil
		case level == maxDecode:
			return fmt.Errorf("is percent-encoded more than %d times", maxDecode)
		case strings.ContainsAny(dec, "/\\"):
			return fmt.Errorf("has an encoded slash ('%%2F' or '%%5C')")
		}
		seg = dec
	}
}

// percentDecode decodes %XX escapes; a malformed one fails, or stays literal when lenient.
func percentDecode(s string, lenient bool) (string, bool) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) && unhex(s[i+1]) >= 0 && unhex(s[i+2]) >= 0 {
			b.WriteByte(byte(unhex(s[i+1])<<4 | unhex(s[i+2])))
			i += 2
			continue
		}
		if s[i] == '%' && !lenient {
			return "", false
		}
		b.WriteByte(s[i])
	}
	return b.String(), true
}

func unhex(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}
