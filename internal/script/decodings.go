package script

import (
	"bytes"
	"unicode/utf8"
)

// decodings offers each what a provider's decoder may read of the request text t besides its
// escapes (unescapes): in a query or form body (form), a form decoder's '+' as a space (a lenient base64 decoder then
// skips it) and its percent escapes undone, quoted-printable (a MIME part's =XX and soft line
// breaks), a JSON array of decimal bytes ([12,250]: a Go provider's []byte field takes it, a
// Java one's its signed -6), and text whose characters U+0080 to U+00FF are read as one byte
// each (Latin-1: "\u00fa" as 0xFA), of t and of its unescaped forms, and text sent in UTF-16
// or UTF-32 read as its characters' low bytes. Each reads more of t as a ciphertext than a provider may: the echo check then refuses
// more, never less (TestRedTeamEchoedThroughOtherDecoders). A decoding is built only when t
// holds what it undoes, none once stop says so; none is longer than t. It returns t with its
// escapes undone (the last level unescapes offers).
func decodings(t []byte, form bool, each func(u []byte), stop func() bool) (last []byte) {
	last = t
	latin := func(u []byte) {
		if stop() {
			return
		}
		each(u)
		last = u
		if hasLatin1(u) && !stop() {
			each(latin1(u))
		}
	}
	if hasLatin1(t) {
		each(latin1(t))
	}
	unescapes(t, latin)
	if form && bytes.IndexByte(t, '+') >= 0 && !stop() {
		each(formDecoded(t))
	}
	if hasQuotedPrintable(t) && !stop() {
		each(unQuotedPrintable(t))
	}
	if !stop() {
		if d := decimalBytes(t); len(d) > 0 {
			each(d)
		}
	}
	if bytes.IndexByte(t, 0) >= 0 { // UTF-16 or UTF-32 text (Jackson detects either)
		for _, stride := range []int{2, 4} {
			for phase := 0; phase < stride && !stop(); phase++ {
				u := narrowed(t, stride, phase)
				each(u)
				if hasLatin1(u) && !stop() {
					each(latin1(u))
				}
				unescapes(u, func(w []byte) { // "\u00fa" in UTF-32
					if !stop() {
						each(w)
						if hasLatin1(w) && !stop() {
							each(latin1(w))
						}
					}
				})
			}
		}
	}
	return last
}

// narrowed is every stride-th byte of t from phase: the low bytes of UTF-16 (stride 2) or
// UTF-32 (stride 4) text, either byte order, which are its characters up to U+00FF.
func narrowed(t []byte, stride, phase int) []byte {
	out := make([]byte, 0, len(t)/stride+1)
	for i := phase; i < len(t); i += stride {
		out = append(out, t[i])
	}
	return out
}

// formDecoded is t as a form or query decoder reads it: '+' as a space, percent escapes undone
// (once, leniently).
func formDecoded(t []byte) []byte {
	out := make([]byte, 0, len(t))
	for i := 0; i < len(t); i++ {
		c := t[i]
		switch {
		case c == '+':
			out = append(out, ' ')
		case c == '%' && i+2 < len(t) && isHex(t[i+1]) && isHex(t[i+2]):
			out = append(out, unhex(t[i+1])<<4|unhex(t[i+2]))
			i += 2
		default:
			out = append(out, c)
		}
	}
	return out
}

// hasQuotedPrintable reports whether t holds a quoted-printable escape (=XX) or soft line break.
func hasQuotedPrintable(t []byte) bool {
	for i := bytes.IndexByte(t, '='); i >= 0 && i+1 < len(t); {
		if t[i+1] == '\n' || t[i+1] == '\r' || i+2 < len(t) && isHex(t[i+1]) && isHex(t[i+2]) {
			return true
		}
		j := bytes.IndexByte(t[i+1:], '=')
		if j < 0 {
			return false
		}
		i += 1 + j
	}
	return false
}

// unQuotedPrintable undoes t's quoted-printable escapes (=XX as the byte) and drops its soft
// line breaks (= before a line break), leniently: anything else stays as it is.
func unQuotedPrintable(t []byte) []byte {
	out := make([]byte, 0, len(t))
	for i := 0; i < len(t); i++ {
		c := t[i]
		switch {
		case c == '=' && i+2 < len(t) && isHex(t[i+1]) && isHex(t[i+2]):
			out = append(out, unhex(t[i+1])<<4|unhex(t[i+2]))
			i += 2
		case c == '=' && i+2 < len(t) && t[i+1] == '\r' && t[i+2] == '\n':
			i += 2
		case c == '=' && i+1 < len(t) && t[i+1] == '\n':
			i++
		default:
			out = append(out, c)
		}
	}
	return out
}

// hasLatin1 reports whether t holds a UTF-8 character from U+0080 to U+00FF (C2 or C3 then a
// continuation byte).
func hasLatin1(t []byte) bool {
	return bytes.IndexByte(t, 0xC2) >= 0 || bytes.IndexByte(t, 0xC3) >= 0 // vectorised: a byte loop was 3% of the script path
}

// latin1 is t with each UTF-8 character U+0080 to U+00FF as its one byte; other bytes as they
// are.
func latin1(t []byte) []byte {
	out := make([]byte, 0, len(t))
	for i := 0; i < len(t); {
		if t[i] < utf8.RuneSelf { // ASCII, most of a text
			out = append(out, t[i])
			i++
			continue
		}
		r, n := utf8.DecodeRune(t[i:])
		if n == 2 && r < 0x100 {
			out = append(out, byte(r))
		} else {
			out = append(out, t[i:i+n]...)
		}
		i += n
	}
	return out
}

// decimalBytes reads t's numbers from -128 to 255 (a '-' right before the digits makes one
// negative) as bytes, one each, skipping everything else: other numbers, separators, the rest
// of a JSON body. Nil when t holds no number, or fewer than 16 separated by commas.
func decimalBytes(t []byte) []byte {
	if bytes.Count(t, []byte(",")) < 15 { // a ciphertext is one AES block or more: 15 commas
		return nil
	}
	var out []byte
	for i := 0; i < len(t); {
		if t[i] < '0' || t[i] > '9' {
			i++
			continue
		}
		neg := i > 0 && t[i-1] == '-'
		v, j := 0, i
		for ; j < len(t) && '0' <= t[j] && t[j] <= '9'; j++ {
			if v <= 255 {
				v = v*10 + int(t[j]-'0')
			}
		}
		switch {
		case !neg && v <= 255:
			out = append(out, byte(v))
		case neg && v <= 128:
			out = append(out, byte(-v))
		}
		i = j
	}
	return out
}
