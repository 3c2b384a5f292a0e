package extproc

import (
	"net/http"
	"slices"
	"strings"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"

	"github.com/keygate/keygate/signer"
)

// The header handling as it was before the seventh performance round (map-based header sets,
// net/http's canonical keys, a string per lower-case name), kept as the reference the
// differential tests hold the current implementation to (headers_diff_test.go). Not used
// outside tests.

// refHeaderSet is a header map as Envoy sent it: lower-case names, pseudo-headers included, each
// value from raw_value (Envoy fills raw_value and leaves value empty; value is read only as a
// fallback for hand-written clients).
type refHeaderSet struct {
	names []string            // first-seen order
	vals  map[string][]string // lower-case name -> values

	// The names and the values' backing array of up to refInlineHeaders headers live here, in
	// the set's own allocation.
	nameBuf, valueBuf [refInlineHeaders]string
}

const refInlineHeaders = 16

func refNewHeaderSet(hm *corev3.HeaderMap) *refHeaderSet {
	in := hm.GetHeaders()
	// Sized once, and each name's first value sliced from one backing array (capacity 1, so a
	// repeated header's append copies): two allocations per header fewer (profiled). The
	// values' text is one string that every value slices (one allocation, not one per value).
	hs := &refHeaderSet{vals: make(map[string][]string, len(in))}
	hs.names = hs.nameBuf[:0]
	backing := hs.valueBuf[:]
	if len(in) > refInlineHeaders {
		hs.names, backing = make([]string, 0, len(in)), make([]string, len(in))
	}
	size := 0
	for _, h := range in {
		size += len(refHeaderValue(h))
	}
	var text strings.Builder
	text.Grow(size)
	for _, h := range in {
		text.Write(refHeaderValue(h))
	}
	all, at := text.String(), 0
	for i, h := range in {
		// Lower-cased as Envoy does, ASCII only (lowerASCII): strings.ToLower, which the
		// implementation used until the red team's look-alike names, also folded Unicode and
		// replaced bytes that are not UTF-8 (TestRedTeamLookAlikeKeygateHeadersNeverLeave).
		name := lowerASCII(h.GetKey())
		n := len(refHeaderValue(h))
		v := all[at : at+n]
		at += n
		if prev, seen := hs.vals[name]; seen {
			hs.vals[name] = append(prev, v)
			continue
		}
		hs.names = append(hs.names, name)
		backing[i] = v
		hs.vals[name] = backing[i : i+1 : i+1]
	}
	return hs
}

// headerValue is a header's value as Envoy sends it: raw_value, or value when raw_value is
// empty (hand-written clients).
func refHeaderValue(h *corev3.HeaderValue) []byte {
	if v := h.GetRawValue(); len(v) > 0 {
		return v
	}
	return []byte(h.GetValue())
}

func (hs *refHeaderSet) get(name string) string {
	if v := hs.vals[name]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// httpHeader returns the regular (non-pseudo) headers as an http.Header the caller may change.
func (hs *refHeaderSet) httpHeader() http.Header {
	h := hs.view()
	n := 0
	for _, v := range h {
		n += len(v)
	}
	// Every value copied into one backing array, each header's slice capped at its own values
	// so an append by a step cannot reach the next (one allocation, not one per header).
	backing := make([]string, 0, n)
	for name, v := range h {
		from := len(backing)
		backing = append(backing, v...)
		h[name] = backing[from:len(backing):len(backing)]
	}
	return h
}

// view is httpHeader sharing the value slices: for a reader. The request's headers are only
// read (gateway.BeginWith copies what it forwards), so they are not copied twice.
func (hs *refHeaderSet) view() http.Header {
	h := make(http.Header, len(hs.names))
	for _, name := range hs.names {
		if !strings.HasPrefix(name, ":") {
			h[http.CanonicalHeaderKey(name)] = hs.vals[name]
		}
	}
	return h
}

// refDiffRequest fills mut with the header mutation that turns the headers Envoy sent into the
// signed request: :path and :authority when they changed, every changed header set, every
// dropped one removed.
func refDiffRequest(mut *extprocv3.HeaderMutation, orig *refHeaderSet, req *signer.Request) {
	refDiffHeadersInto(mut, orig, req.Header)
	if req.Path != orig.get(":path") {
		refAddSet(mut, setHeader(":path", req.Path, false))
	}
	if req.Authority != orig.get(":authority") {
		refAddSet(mut, setHeader(":authority", req.Authority, false))
	}
	if req.Method != orig.get(":method") && req.Method != "" {
		refAddSet(mut, setHeader(":method", req.Method, false))
	}
}

// refDiffHeadersInto is diffHeaders filling mut.
func refDiffHeadersInto(mut *extprocv3.HeaderMutation, orig *refHeaderSet, final http.Header) {
	var nameBuf [64]byte
	for _, name := range orig.names {
		if strings.HasPrefix(name, ":") || name == "content-length" {
			continue
		}
		if _, kept := final[string(refAppendCanonicalKey(nameBuf[:0], name))]; !kept {
			mut.RemoveHeaders = append(mut.RemoveHeaders, name)
		}
	}
	var keyBuf [16]string // on the stack for the usual handful of headers
	keys := keyBuf[:0]
	for k := range final {
		keys = append(keys, k)
	}
	slices.Sort(keys) // deterministic mutations
	var lowerBuf [64]byte
	for _, k := range keys {
		// Lower-cased on the stack to look the header up: a name is allocated only for a
		// header that is set (most are the caller's, unchanged).
		lower := refAppendLower(lowerBuf[:0], k)
		if string(lower) == "content-length" || slices.Equal(final[k], orig.vals[string(lower)]) {
			continue
		}
		name := string(lower)
		for i, v := range final[k] {
			refAddSet(mut, setHeader(name, v, i > 0))
		}
	}
}

// refAppendCanonicalKey appends http.CanonicalHeaderKey(name) to dst without allocating for the
// names Envoy sends (lower-case letters, digits and dashes: the first letter and each after a
// dash upper-cased); any other name goes through http.CanonicalHeaderKey itself.
func refAppendCanonicalKey(dst []byte, name string) []byte {
	for i := 0; i < len(name); i++ {
		if c := name[i]; !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
			return append(dst, http.CanonicalHeaderKey(name)...)
		}
	}
	upper := true
	for i := 0; i < len(name); i++ {
		c := name[i]
		if upper && 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		dst = append(dst, c)
		upper = c == '-'
	}
	return dst
}

// refAppendLower appends s lower-cased (ASCII, as strings.ToLower does for a header name) to dst.
func refAppendLower(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}

// refAddSet appends o to mut's set headers, with room for a few from the first: a signed request
// sets :path, :authority and a header or two (growing one by one was three allocations).
func refAddSet(mut *extprocv3.HeaderMutation, o *corev3.HeaderValueOption) {
	if mut.SetHeaders == nil {
		mut.SetHeaders = make([]*corev3.HeaderValueOption, 0, 4)
	}
	mut.SetHeaders = append(mut.SetHeaders, o)
}
