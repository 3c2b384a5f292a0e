package script

import "unicode/utf8"

// stringifyCanonical reports, conservatively, whether JSON.stringify(JSON.parse(b)) == b for a
// valid JSON object b. ProcessResponse needs to know whether the response function changed the
// body; when b is canonical it compares the function's result with b itself instead of
// stringifying the untouched object first (a third of the response function's cost).
//
// Canonical here means: no whitespace outside strings; strings without escapes or control
// characters (goja writes printable and non-ASCII text back as is, and valid UTF-8 holds no
// surrogates); numbers that are integers of at most 15 digits, without leading zeros, not -0
// (exactly representable, printed back digit for digit); keys that are not digit-only (JS
// orders array-index keys first), not __proto__, and not repeated within their object. A false
// answer only costs the stringify it would have saved.
func stringifyCanonical(b []byte) bool {
	if !utf8.Valid(b) {
		return false
	}
	type memberKey struct {
		object int
		key    string
	}
	var (
		seen      map[memberKey]struct{}
		stack     []int // per open container: its object number, or -1 for an array
		objects   int
		expectKey bool
	)
	for i := 0; i < len(b); {
		switch c := b[i]; {
		case c == '{':
			objects++
			stack = append(stack, objects)
			expectKey = true
			i++
		case c == '[':
			stack = append(stack, -1)
			i++
		case c == '}' || c == ']':
			stack = stack[:len(stack)-1]
			i++
		case c == ',':
			expectKey = len(stack) > 0 && stack[len(stack)-1] >= 0
			i++
		case c == ':':
			i++
		case c == '"':
			j := i + 1
			for ; b[j] != '"'; j++ {
				if b[j] == '\\' || b[j] < 0x20 {
					return false
				}
			}
			if expectKey {
				k := string(b[i+1 : j])
				if k == "__proto__" || digitsOnly(k) {
					return false
				}
				if seen == nil {
					seen = map[memberKey]struct{}{}
				}
				mk := memberKey{stack[len(stack)-1], k}
				if _, dup := seen[mk]; dup {
					return false
				}
				seen[mk] = struct{}{}
				expectKey = false
			}
			i = j + 1
		case c == '-' || ('0' <= c && c <= '9'):
			j := i
			if c == '-' {
				j++
			}
			k := j
			for k < len(b) && '0' <= b[k] && b[k] <= '9' {
				k++
			}
			digits := k - j
			if digits > 15 || (b[j] == '0' && (digits > 1 || c == '-')) {
				return false
			}
			if k < len(b) && (b[k] == '.' || b[k] == 'e' || b[k] == 'E') {
				return false
			}
			i = k
		case c == 't' || c == 'n':
			i += 4
		case c == 'f':
			i += 5
		default:
			return false // whitespace
		}
	}
	return true
}

func digitsOnly(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
