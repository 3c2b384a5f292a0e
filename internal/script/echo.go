package script

import (
	"bytes"
	"cmp"
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"slices"
	"strings"
	"unsafe"

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
		{&b64Skeleton, base64.RawStdEncoding.AppendEncode, base64.RawStdEncoding.EncodedLen(len(ct))},
		{&hexSkeleton, hex.AppendEncode, hex.EncodedLen(len(ct))},
		{&b32Skeleton, rawBase32.AppendEncode, rawBase32.EncodedLen(len(ct))},
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

// nested reports whether a base64 or hex field of the request holds ct's bytes at any byte
// offset, or its base64 or hex text: a provider that decodes a field, strips a version byte or
// reads the JSON the field holds, and sends back what it found, sends the caller's ciphertext
// (TestRedTeamEchoedThroughOtherDecoders). The bytes a field holds at an offset that is not
// a whole number of base64's 3-byte groups have base64 of their own: ct's (or its text's)
// whole groups from each of the three offsets are looked for, the ends dropped. One level: a
// text inside a field is looked for as written unbroken (no separators or escapes). Needles,
// not decoded fields: decoding every field four ways, then skeletonizing that per class, made
// the check six times slower on a 7 KiB body.
func (v *echoViews) nested(ct []byte) bool {
	b64, hexs := &v.b64, &v.hexs // built by echoed (skeletons): every text at least a form of ct long
	if b64.empty() && hexs.empty() {
		return false
	}
	inner := [][]byte{ct,
		base64.RawStdEncoding.AppendEncode(nil, ct), base64.RawURLEncoding.AppendEncode(nil, ct),
		hex.AppendEncode(nil, ct), bytes.ToUpper(hex.AppendEncode(nil, ct))}
	needle := make([]byte, 0, base64.RawStdEncoding.EncodedLen(len(inner[3]))+hex.EncodedLen(len(inner[1])))
	// The needle's first 30 bytes' form first (a prefix of the whole one's, as in echoed): one
	// vectorised pass each, where a long needle's search stumbled over every likely first byte.
	holds := func(set *skeletonSet, encode func(dst, src []byte) []byte, f []byte) bool {
		return !set.empty() && set.holds(encode(needle[:0], f[:min(len(f), 30)])) && set.holds(encode(needle[:0], f))
	}
	for i, f := range inner {
		for a := range 3 {
			if i == 0 && a == 0 {
				continue // ct's own base64: echoed looked for it
			}
			seg := f[min(a, len(f)):]
			seg = seg[:len(seg)/3*3]
			if len(seg) >= 12 && holds(b64, base64.RawStdEncoding.AppendEncode, seg) {
				return true
			}
		}
		if i > 0 && holds(hexs, hex.AppendEncode, f) {
			return true
		}
	}
	return false
}

// echoViews holds the skeletons of the request's texts, per kind, for one invocation: built
// on the first decryption that needs them, wiped when the invocation ends (release); their
// buffers are kept for the runtime's next invocation, as its scratch is (maxScratch).
type echoViews struct {
	of                   *signer.Request
	b64, hexs, b32s, raw skeletonSet
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
	for _, s := range []*skeletonSet{&v.b64, &v.hexs, &v.b32s, &v.raw} {
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
	set := &v.b64
	switch class {
	case &hexSkeleton:
		set = &v.hexs
	case &b32Skeleton:
		set = &v.b32s
	case nil:
		set = &v.raw
	}
	minLen = max(minLen, 1)
	if set.min != 0 && set.min <= minLen {
		return set
	}
	set.min, set.buf, set.spans, set.texts = minLen, set.buf[:0], set.spans[:0], set.texts[:0]
	if class == nil {
		v.addTexts(set, r.Body())
		for _, vs := range r.Header {
			for _, h := range vs {
				if len(h) >= minLen { // most are short: no copy of theirs
					v.addTexts(set, []byte(h))
				}
			}
			if len(vs) > 1 && joinedLen(vs) >= minLen { // repeated lines are one value to a provider
				v.addTexts(set, []byte(strings.Join(vs, ", ")))
			}
		}
		if len(r.Path) >= minLen {
			v.addTexts(set, []byte(r.Path))
			for _, j := range v.repeatedParams(r.RawQuery()) {
				v.addTexts(set, j)
			}
		}
		if strings.Contains(r.Header.Get("Content-Type"), "x-www-form-urlencoded") {
			for _, j := range v.repeatedParams(string(r.Body())) {
				v.addTexts(set, j)
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

// repeatedParams are the values of a query (or a form body) without their names, joined by
// commas, in the order sent and in the order of their names' indexes (order[1] after
// order[0]), as they are (escapes undone by addTexts). Express, among others, reads a repeated
// parameter (order, order[], order[0], %6Frder) as a list whose text is its values joined by
// commas, which a lenient base64 decoder skips: a ciphertext split over them came back whole.
// Values of different parameters are joined too: the check then refuses more, never less.
func (v *echoViews) repeatedParams(query string) [][]byte {
	type param struct {
		base  string
		index int
		value string
	}
	n := strings.Count(query, "&") + strings.Count(query, ";") + 1
	if n < 2 || !v.spend(n*int(unsafe.Sizeof(param{}))) { // a hostile form of 500k empty fields
		return nil
	}
	ps := make([]param, 0, n)
	for rest := query; rest != ""; {
		kv := rest
		if i := strings.IndexAny(rest, "&;"); i >= 0 {
			kv, rest = rest[:i], rest[i+1:]
		} else {
			rest = ""
		}
		if kv == "" {
			continue
		}
		k, val, _ := strings.Cut(kv, "=")
		if strings.ContainsAny(k, "%+\\") {
			k = string(unescaped(formDecoded([]byte(k))))
		}
		base, idx, _ := strings.Cut(k, "[")
		ps = append(ps, param{base, digits(strings.TrimSuffix(idx, "]")), val})
	}
	if len(ps) < 2 {
		return nil
	}
	join := func() []byte {
		var b []byte
		for i, p := range ps {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, p.value...)
		}
		return b
	}
	out := [][]byte{join()}
	slices.SortStableFunc(ps, func(a, b param) int {
		return cmp.Or(strings.Compare(a.base, b.base), cmp.Compare(a.index, b.index))
	})
	return append(out, join())
}

// digits is s as a number when it is one of up to 9 digits, else 0.
func digits(s string) int {
	if len(s) == 0 || len(s) > 9 {
		return 0
	}
	n := 0
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return 0
		}
		n = n*10 + int(c-'0')
	}
	return n
}

// joinedLen is the length of vs joined by ", ", as a recipient may combine a header's repeated
// lines into one value (RFC 9110 5.3): a ciphertext split over them comes back whole.
func joinedLen(vs []string) int {
	n := 2 * (len(vs) - 1)
	for _, v := range vs {
		n += len(v)
	}
	return n
}

// addTexts adds t and its decodings (decodings: its escapes undone and more), if they are at
// least set.min long, as they are: t itself without a copy.
func (v *echoViews) addTexts(set *skeletonSet, t []byte) {
	if len(t) < set.min {
		return
	}
	keep := func(u []byte) {
		if len(u) >= set.min && v.spend(len(u)) {
			set.texts = append(set.texts, u)
		}
	}
	set.texts = append(set.texts, t)
	decodings(t, keep, v.stopped)
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

// rawBase32 is base32 as the skeletons compare it: unpadded, upper-case.
var rawBase32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// b32Skeleton: base32's letters upper-cased and its digits 2 to 7, the rest skipped.
var b32Skeleton = func() (b [256]byte) {
	for c := range 256 {
		switch {
		case 'A' <= c && c <= 'Z', '2' <= c && c <= '7':
			b[c] = byte(c)
		case 'a' <= c && c <= 'z':
			b[c] = byte(c) - 'a' + 'A'
		}
	}
	return b
}()

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
