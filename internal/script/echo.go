package script

import (
	"encoding/base64"
	"encoding/hex"
	"slices"

	"github.com/keygate/keygate/signer"
)

// echoed reports whether ct is in the request as sent, in any text encoding a provider might
// decode and send back in another: its path, body or a header value, as they are or with their
// escapes undone (unescaped), compared by their skeletons (skeleton). A caller's ciphertext
// travels in the request escaped (a query percent-encodes '+', '/' and '='; a JSON body may
// write "\/" or "\u0041"), broken into lines (MIME base64), split by separators ("0a:1b") or in
// mixed-case hex, or as its bytes (a binary body, a query of percent-escaped bytes), and comes
// back whole in another spelling or another encoding (the caller's hex, the provider's
// base64): looking for the response's spelling alone let a chosen ciphertext through as the
// provider's own (TestRedTeamEchoedCiphertextInAnotherSpelling,
// TestRedTeamEchoedThroughALenientDecoder). buf has room for the hex form.
//
// The skeletons of the request's texts are built once per invocation (the request cannot
// change once sent) and only when a text is long enough to hold a form of ct: a skeleton is
// never longer than its text.
func (st *callState) echoed(buf, ct []byte) bool {
	r := st.x.Request
	if r == nil {
		return false
	}
	// Base64 (either alphabet), hex (either case), the bytes themselves. A form is built whole
	// only when a skeleton holds the form of ct's first 24 bytes, a prefix of the whole one's.
	head := ct[:min(len(ct), 24)]
	for _, f := range [...]struct {
		class  *[256]byte
		encode func(dst, src []byte) []byte
		n      int
	}{
		{&b64Skeleton, base64.RawStdEncoding.AppendEncode, base64.RawStdEncoding.EncodedLen(len(ct))},
		{&hexSkeleton, hex.AppendEncode, hex.EncodedLen(len(ct))},
		{nil, func(dst, src []byte) []byte { return append(dst, src...) }, len(ct)},
	} {
		set := st.echo.skeletons(r, f.n, f.class)
		if !set.empty() && set.holds(f.encode(buf[:0], head)) && set.holds(f.encode(buf[:0], ct)) {
			return true
		}
	}
	return false
}

// echoViews holds the skeletons of the request's texts, per kind, for one invocation: built
// on the first decryption that needs them, wiped when the invocation ends (release); their
// buffers are kept for the runtime's next invocation, as its scratch is (maxScratch).
type echoViews struct {
	b64, hexs, raw skeletonSet
}

// skeletonSet is the skeletons of the texts at least min long: in buf, one after another
// (spans), or for the raw kind the texts themselves and their unescaped forms (texts).
type skeletonSet struct {
	min   int // 0: not built
	buf   []byte
	spans [][2]int
	texts [][]byte
}

// release wipes the skeletons (a caller's data) and forgets them, keeping buffers up to
// maxScratch.
func (v *echoViews) release() {
	for _, s := range []*skeletonSet{&v.b64, &v.hexs, &v.raw} {
		clear(s.buf[:cap(s.buf)])
		clear(s.texts[:cap(s.texts)])
		s.min, s.buf, s.spans, s.texts = 0, s.buf[:0], s.spans[:0], s.texts[:0]
		if cap(s.buf) > maxScratch {
			s.buf = nil
		}
	}
}

// holds reports whether any skeleton contains needle.
func (s *skeletonSet) holds(needle []byte) bool {
	for _, sp := range s.spans {
		if contains(s.buf[sp[0]:sp[1]], needle) {
			return true
		}
	}
	for _, t := range s.texts {
		if contains(t, needle) {
			return true
		}
	}
	return false
}

// empty reports whether the set has no text to search.
func (s *skeletonSet) empty() bool { return len(s.spans) == 0 && len(s.texts) == 0 }

// skeletons returns the skeletons under class of the request's texts that are at least minLen
// long, the length of the form looked for: a skeleton is never longer than its text, so a
// shorter text cannot hold the form (the usual case for hex, twice a ciphertext's length, and
// for headers). Built once per invocation, again only for a shorter form.
func (v *echoViews) skeletons(r *signer.Request, minLen int, class *[256]byte) *skeletonSet {
	set := &v.b64
	switch class {
	case &hexSkeleton:
		set = &v.hexs
	case nil:
		set = &v.raw
	}
	minLen = max(minLen, 1)
	if set.min != 0 && set.min <= minLen {
		return set
	}
	set.min, set.buf, set.spans, set.texts = minLen, set.buf[:0], set.spans[:0], set.texts[:0]
	addSkeletons(set, r.Body(), class)
	for _, vs := range r.Header {
		for _, v := range vs {
			if len(v) >= minLen { // most are short: no copy of theirs
				addSkeletons(set, []byte(v), class)
			}
		}
	}
	if len(r.Path) >= minLen {
		addSkeletons(set, []byte(r.Path), class)
	}
	return set
}

// addSkeletons adds t's skeleton, and those of t with its escapes undone (unescapes), if they
// are at least set.min long.
func addSkeletons(set *skeletonSet, t []byte, class *[256]byte) {
	if len(t) < set.min {
		return
	}
	add := func(t []byte) {
		if class == nil {
			set.texts = append(set.texts, t) // as they are: no copy
		} else {
			set.add(appendSkeleton(set.buf, t, class))
		}
	}
	add(t)
	unescapes(t, func(u []byte) {
		if len(u) >= set.min {
			add(u)
		}
	})
}

// add records buf, which appended one skeleton to set.buf, as the set's.
func (s *skeletonSet) add(buf []byte) {
	s.spans = append(s.spans, [2]int{len(s.buf), len(buf)})
	s.buf = buf
}

// appendSkeleton appends b with every character class skips dropped and the others mapped:
// what a lenient decoder reads of it. For base64, both alphabets' characters (the URL
// alphabet's '-' and '_' as '+' and '/'), padding and everything else skipped: whitespace, line
// breaks, quotes, separators. For hex, the digits lower-cased, the rest skipped. Dropping
// characters only joins text: a skeleton holds every ciphertext the text holds under any
// interspersing, and more (the check then refuses more, never less). (The raw kind, a nil
// class, searches the texts as they are: addSkeletons.)
//
// Most of a text is characters the class keeps as they are (a body's base64): those runs are
// copied whole, a byte-at-a-time loop was three times slower (BenchmarkSkeleton).
func appendSkeleton(out, b []byte, class *[256]byte) []byte {
	if class == nil {
		return append(out, b...)
	}
	out = slices.Grow(out, len(b))
	n := len(out)
	dst := out[:n+len(b)]
	for i := 0; i < len(b); {
		j := i
		for j < len(b) && class[b[j]] == b[j] && b[j] != 0 {
			j++
		}
		n += copy(dst[n:], b[i:j])
		if j == len(b) {
			break
		}
		if m := class[b[j]]; m != 0 {
			dst[n] = m
			n++
		}
		i = j + 1
	}
	return out[:n]
}

// The skeleton classes: what each character is in a skeleton, 0 for skipped.
var b64Skeleton, hexSkeleton = func() (b, h [256]byte) {
	for c := range 256 {
		switch {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '+', c == '/':
			b[c] = byte(c)
		case c == '-':
			b[c] = '+'
		case c == '_':
			b[c] = '/'
		}
		switch {
		case '0' <= c && c <= '9', 'a' <= c && c <= 'f':
			h[c] = byte(c)
		case 'A' <= c && c <= 'F':
			h[c] = byte(c) - 'A' + 'a'
		}
	}
	return b, h
}()
