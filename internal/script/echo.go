package script

import (
	"encoding/base32"
	"encoding/base64"
	byteorder "encoding/binary"
	"encoding/hex"
	"slices"
	"strings"

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
	// Base64 (either alphabet), hex (either case), base32 (either case), the bytes themselves.
	// A form is built whole only when a skeleton holds the form of ct's first 30 bytes, a prefix
	// of the whole one's (30 is a whole number of base64's 3-byte and base32's 5-byte groups).
	head := ct[:min(len(ct), 30)]
	for _, f := range [...]struct {
		class  *[256]byte
		encode func(dst, src []byte) []byte
		n      int
	}{
		{nil, func(dst, src []byte) []byte { return append(dst, src...) }, len(ct)}, // first: its texts serve all
		// One skeleton serves the three text encodings (alnumSkeleton), the shortest form first.
		// Base64's skeleton drops '+' and '/': its head's is the length a text must have (a
		// prefix of the whole one's); hex and base32 are letters and digits only.
		{&alnumSkeleton, alnumOf(base64.RawStdEncoding.AppendEncode), len(alnumOf(base64.RawStdEncoding.AppendEncode)(buf[:0], head))},
		{&alnumSkeleton, alnumOf(rawBase32.AppendEncode), rawBase32.EncodedLen(len(ct))},
		{&alnumSkeleton, alnumOf(hex.AppendEncode), hex.EncodedLen(len(ct))},
	} {
		if st.echo.of != r {
			st.echo.release()
			st.echo.of, st.echo.budget, st.echo.late = r, int(st.mem.limit-st.mem.used), st.budget.expired
		}
		set := st.echo.skeletons(r, f.n, f.class)
		if st.echo.stopped() {
			return true // not all read: refused as if echoed (providerCiphertext says why)
		}
		if !set.empty() && set.holds(f.encode(buf[:0], head)) && set.holds(f.encode(buf[:0], ct)) {
			return true
		}
	}
	return st.echo.nested(ct)
}

// echoViews holds the skeletons of the request's texts, per kind, for one invocation: built
// on the first decryption that needs them, wiped when the invocation ends (release); their
// buffers are kept for the runtime's next invocation, as its scratch is (maxScratch).
type echoViews struct {
	of         *signer.Request
	alnum, raw skeletonSet
	// budget is what the views may hold, the invocation's memory budget left when the first
	// was built; used what they hold; over is set once they would hold more: the check is then
	// incomplete, and the decryption refused (providerCiphertext). A hostile 1 MiB body
	// decodes in many ways; native code the watchdog cannot stop must not allocate without
	// bound (TestEchoCheckCostIsBounded).
	budget, used int
	over         bool
	// late reports whether the invocation's time is up (budget.expired), checked between
	// views: the runtime's interrupt reaches native code only when it returns. late sets over
	// and timedOut.
	late     func() bool
	timedOut bool
}

// stopped reports whether the views are over their memory budget or the invocation's time.
func (v *echoViews) stopped() bool {
	if !v.over && v.late != nil && v.late() {
		v.over, v.timedOut = true, true
	}
	return v.over
}

// spend counts n bytes of views, reporting false (and marking the views over) beyond the
// budget.
func (v *echoViews) spend(n int) bool {
	if v.stopped() || v.used+n > v.budget {
		v.over = true
		return false
	}
	v.used += n
	return true
}

// skeletonSet is the skeletons of the texts at least min long: in buf, one after another
// (spans), or for the raw kind the texts themselves and their decodings (texts), which the
// other kinds' skeletons are built from.
type skeletonSet struct {
	min   int // 0: not built
	buf   []byte
	spans [][2]int
	texts [][]byte
}

// release wipes the skeletons (a caller's data) and forgets them, keeping buffers up to
// maxScratch.
func (v *echoViews) release() {
	v.of, v.budget, v.used, v.over, v.late, v.timedOut = nil, 0, 0, false, nil, false
	for _, s := range []*skeletonSet{&v.alnum, &v.raw} {
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
// for headers). Built once per invocation, again only for a shorter form. The decodings are
// built once, for the raw kind, and skeletonized per class: decoding a 1 MiB hostile body
// again for each class cost four times the memory (TestEchoCheckCostIsBounded).
func (v *echoViews) skeletons(r *signer.Request, minLen int, class *[256]byte) *skeletonSet {
	if v.of != r { // echoed sets them up for r
		v.release()
		v.of = r
	}
	set := &v.alnum
	if class == nil {
		set = &v.raw
	}
	minLen = max(minLen, 1)
	if set.min != 0 && set.min <= minLen {
		return set
	}
	set.min, set.buf, set.spans, set.texts = minLen, set.buf[:0], set.spans[:0], set.texts[:0]
	if class == nil {
		v.addTexts(set, r.Body(), isForm(r))
		for _, vs := range r.Header {
			for _, h := range vs {
				if len(h) >= minLen { // most are short: no copy of theirs
					v.addTexts(set, []byte(h), false)
				}
			}
			if len(vs) > 1 && joinedLen(vs) >= minLen { // repeated lines are one value to a provider
				v.addTexts(set, []byte(strings.Join(vs, ", ")), false)
			}
		}
		if len(r.Path) >= minLen {
			v.addTexts(set, []byte(r.Path), true)
			for _, j := range v.repeatedParams(r.RawQuery()) {
				v.addTexts(set, j, true)
			}
		}
		if isForm(r) {
			for _, j := range v.repeatedParams(string(r.Body())) {
				v.addTexts(set, j, true)
			}
		}
		return set
	}
	// The texts and their decodings, read once for every class (echoed reads them first, for
	// the shortest form): their skeletons.
	texts := v.skeletons(r, minLen, nil).texts
	n := 0
	for _, t := range texts {
		if len(t) >= minLen {
			n += len(t)
		}
	}
	if !v.spend(n) { // a skeleton is never longer than its text
		return set
	}
	set.buf = slices.Grow(set.buf, n)
	for _, t := range texts {
		if len(t) >= minLen && !v.stopped() {
			set.add(appendSkeleton(set.buf, t, class))
		}
	}
	return set
}

// addTexts adds t and its decodings (decodings: its escapes undone and more; form: a query or
// a form body, read by a form decoder too), if they are at least set.min long, as they are: t
// itself without a copy.
func (v *echoViews) addTexts(set *skeletonSet, t []byte, form bool) {
	if len(t) < set.min {
		return
	}
	keep := func(u []byte) {
		if len(u) >= set.min && v.spend(len(u)) {
			set.texts = append(set.texts, u)
		}
	}
	set.texts = append(set.texts, t)
	decodings(t, form, keep, v.stopped)
}

// add records buf, which appended one skeleton to set.buf, as the set's.
func (s *skeletonSet) add(buf []byte) {
	if start := len(s.buf); len(buf) > start {
		s.spans = append(s.spans, [2]int{start, len(buf)})
	}
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
	out = slices.Grow(out, len(b))
	start, n := len(out), len(out)
	dst := out[:start+len(b)]
	for i := 0; i < len(b); {
		j := i
		for j < len(b) && class[b[j]] != 0 {
			j++
		}
		n += copy(dst[n:], b[i:j])
		i = j + 1
	}
	foldLower(dst[start:n])
	return dst[:n]
}

// foldLower lower-cases b, which holds only letters and digits: setting bit 0x20 lower-cases a
// letter and leaves a digit as it is, eight bytes at a time.
func foldLower(b []byte) {
	for ; len(b) >= 8; b = b[8:] {
		byteorder.LittleEndian.PutUint64(b, byteorder.LittleEndian.Uint64(b)|0x2020202020202020)
	}
	for i := range b {
		b[i] |= 0x20
	}
}

// rawBase32 is base32 as the skeletons compare it: unpadded.
var rawBase32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// alnumSkeleton is the one skeleton class: letters lower-cased and digits, the rest skipped.
// It serves base64 of either alphabet (its '+', '/', '-' and '_' skipped on both sides of the
// comparison), hex and base32 of either case, with anything between their characters. Folding
// base64's case and dropping four of its characters leaves about 5 bits a character: a
// ciphertext of one block (22 characters) is not found by chance. One skeleton for the three
// encodings, not one each: the check's cost on the script path was a third of its CPU.
var alnumSkeleton = func() (b [256]byte) {
	for c := range 256 {
		switch {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9':
			b[c] = byte(c) | 0x20
		}
	}
	return b
}()

// alnumOf is encode, its output reduced to its alnumSkeleton (in place).
func alnumOf(encode func(dst, src []byte) []byte) func(dst, src []byte) []byte {
	return func(dst, src []byte) []byte {
		e := encode(dst[:0], src)
		return appendSkeleton(e[:0], e, &alnumSkeleton)
	}
}

// isForm reports whether r's body is a form (a form decoder reads '+' as a space).
func isForm(r *signer.Request) bool {
	return strings.Contains(r.Header.Get("Content-Type"), "x-www-form-urlencoded")
}
