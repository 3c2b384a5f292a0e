package script

import (
	"encoding/base64"
	"encoding/hex"
	"slices"
)

// nested reports whether a base64 or hex field of the request holds ct's bytes at any byte
// offset, or its base64 or hex text: a provider that decodes a field, strips a version byte or
// reads the JSON the field holds, and sends back what it found, sends the caller's ciphertext
// (TestRedTeamEchoedThroughOtherDecoders). Each field (a run of base64 or hex characters in a
// text as sent or unescaped, long enough to hold ct) is decoded once and searched for ct's
// forms, at any offset. One level, a field written unbroken. Decoded fields, not needles: the
// base64 of each form at each of three byte offsets was 18 searches of every text, three
// quarters of the script path's CPU (BenchmarkPipelineScript).
func (v *echoViews) nested(ct []byte) bool {
	if v.raw.empty() {
		return false
	}
	// ct's forms, each built whole only once a decoded field holds the form of ct's first 24
	// bytes (a prefix of the whole one's): building five forms of a 3 KiB ciphertext for every
	// decryption cost more than the search.
	formOf := [...]func(dst, src []byte) []byte{
		func(dst, src []byte) []byte { return append(dst, src...) },
		base64.RawStdEncoding.AppendEncode, base64.RawURLEncoding.AppendEncode, hex.AppendEncode,
		func(dst, src []byte) []byte { e := hex.AppendEncode(dst, src); upperHex(e[len(dst):]); return e },
	}
	var head [48]byte
	var dec, mapped []byte
	holds := func() bool {
		for _, form := range formOf {
			if contains(dec, form(head[:0], ct[:min(len(ct), 24)])) && contains(dec, form(nil, ct)) {
				return true
			}
		}
		return false
	}
	for _, t := range v.raw.texts {
		for _, run := range fields(t, &base64Field, base64.RawStdEncoding.EncodedLen(len(ct))) {
			if !v.spend(len(run)) {
				return true // not all read: refused as if echoed
			}
			dec, mapped = decodeField(dec, mapped, run)
			if holds() {
				return true
			}
		}
		for _, run := range fields(t, &hexField, hex.EncodedLen(len(ct))) {
			for a := range 2 { // a field may start with a character that is not hex data
				dec, _ = hex.AppendDecode(dec[:0], run[a:a+(len(run)-a)/2*2])
				if holds() {
					return true
				}
			}
		}
		if v.stopped() {
			return true
		}
	}
	return false
}

// upperHex upper-cases the hex digits b holds, in place.
func upperHex(b []byte) {
	for i, c := range b {
		if 'a' <= c && c <= 'f' {
			b[i] = c - 'a' + 'A'
		}
	}
}

// fields are t's runs of the class's characters at least minLen long.
func fields(t []byte, class *[256]bool, minLen int) [][]byte {
	var out [][]byte
	for i := 0; i < len(t); {
		if !class[t[i]] {
			i++
			continue
		}
		j := i
		for j < len(t) && class[t[j]] {
			j++
		}
		if j-i >= minLen {
			out = append(out, t[i:j])
		}
		i = j
	}
	return out
}

// decodeField decodes the base64 field run, either alphabet, unpadded (base64Field leaves '='
// out), a last lone character dropped, into dst; mapped holds the run in the standard
// alphabet. Both are returned for reuse.
func decodeField(dst, mapped, run []byte) ([]byte, []byte) {
	if len(run)%4 == 1 {
		run = run[:len(run)-1]
	}
	mapped = append(mapped[:0], run...)
	for i, c := range mapped {
		switch c {
		case '-':
			mapped[i] = '+'
		case '_':
			mapped[i] = '/'
		}
	}
	dst = slices.Grow(dst[:0], base64.RawStdEncoding.DecodedLen(len(mapped)))
	n, _ := base64.RawStdEncoding.Decode(dst[:cap(dst)], mapped)
	return dst[:n], mapped
}

// base64Field and hexField: the characters of a base64 field (either alphabet) and a hex one.
var base64Field, hexField = func() (b, h [256]bool) {
	for c := range 256 {
		b[c] = 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '+' || c == '/' || c == '-' || c == '_'
		h[c] = '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
	}
	return b, h
}()
