package extproc

import (
	"net/http"
	"slices"
	"strings"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/keygate/keygate/internal/gateway"
	"github.com/keygate/keygate/signer"
)

// headerSet is a header map as Envoy sent it: lower-case names, pseudo-headers included, each
// value from raw_value (Envoy fills raw_value and leaves value empty; value is read only as a
// fallback for hand-written clients).
type headerSet struct {
	fields []headerField // one per distinct name, in first-seen order
	// index finds a name's field once there are more than inlineHeaders names (nil until
	// then). Below that a scan of the names is cheaper than a map, its allocations and its
	// hashing (profiled); past it, a request with a hostile count of headers still costs one
	// map lookup per header.
	index map[string]int

	// The fields and the values' backing array of up to inlineHeaders headers live here, in
	// the set's own allocation.
	fieldBuf [inlineHeaders]headerField
	valueBuf [inlineHeaders]string
}

// headerField is one name of a headerSet and its values, in the order Envoy sent them: what
// gateway.Inbound.Fields takes, so the request's headers reach Begin without a map between.
type headerField = gateway.HeaderField

const inlineHeaders = 16

func newHeaderSet(hm *corev3.HeaderMap) *headerSet {
	in := hm.GetHeaders()
	// Sized once, and each name's first value sliced from one backing array (capacity 1, so a
	// repeated header's append copies): two allocations per header fewer (profiled). The
	// values' text is one string that every value slices (one allocation, not one per value).
	hs := &headerSet{}
	hs.fields = hs.fieldBuf[:0]
	backing := hs.valueBuf[:]
	if len(in) > inlineHeaders {
		hs.fields, backing = make([]headerField, 0, len(in)), make([]string, len(in))
	}
	size := 0
	for _, h := range in {
		size += len(headerValue(h))
	}
	var text strings.Builder
	text.Grow(size)
	for _, h := range in {
		text.Write(headerValue(h))
	}
	all, at := text.String(), 0
	for i, h := range in {
		name := lowerASCII(h.GetKey())
		n := len(headerValue(h))
		v := all[at : at+n]
		at += n
		if j := hs.find(name); j >= 0 {
			hs.fields[j].Values = append(hs.fields[j].Values, v)
			continue
		}
		backing[i] = v
		hs.add(name, backing[i:i+1:i+1])
	}
	return hs
}

// lowerASCII lower-cases a header name as Envoy does (ASCII letters only), without an
// allocation for a name already lower-case (every name Envoy sends). strings.ToLower folds
// Unicode too: "x-\u212aeygate-tenant-key" (KELVIN SIGN) became "x-keygate-tenant-key", the
// tenant key keygate authenticated with and asked Envoy to remove, while Envoy held, and
// forwarded, the header by the name it came with.
func lowerASCII(name string) string {
	for i := 0; i < len(name); i++ {
		if c := name[i]; 'A' <= c && c <= 'Z' {
			return string(appendLower(make([]byte, 0, len(name)), name))
		}
	}
	return name
}

// add appends a field for a name the set does not hold yet.
func (hs *headerSet) add(name string, vals []string) {
	hs.fields = append(hs.fields, headerField{Name: name, Values: vals})
	switch n := len(hs.fields); {
	case hs.index != nil:
		hs.index[name] = n - 1
	case n > inlineHeaders:
		hs.index = make(map[string]int, cap(hs.fields))
		for i, f := range hs.fields {
			hs.index[f.Name] = i
		}
	}
}

// find is the position of name's field, or -1.
func (hs *headerSet) find(name string) int {
	if hs.index != nil {
		if i, ok := hs.index[name]; ok {
			return i
		}
		return -1
	}
	for i := range hs.fields {
		if hs.fields[i].Name == name {
			return i
		}
	}
	return -1
}

// findBytes is find for a name in a buffer (looked up without making it a string).
func (hs *headerSet) findBytes(name []byte) int {
	if hs.index != nil {
		if i, ok := hs.index[string(name)]; ok {
			return i
		}
		return -1
	}
	for i := range hs.fields {
		if hs.fields[i].Name == string(name) {
			return i
		}
	}
	return -1
}

// values are name's values, nil when the set has none.
func (hs *headerSet) values(name string) []string {
	if i := hs.find(name); i >= 0 {
		return hs.fields[i].Values
	}
	return nil
}

// valuesBytes is values for a name in a buffer.
func (hs *headerSet) valuesBytes(name []byte) []string {
	if i := hs.findBytes(name); i >= 0 {
		return hs.fields[i].Values
	}
	return nil
}

// headerValue is a header's value as Envoy sends it: raw_value, or value when raw_value is
// empty (hand-written clients).
func headerValue(h *corev3.HeaderValue) []byte {
	if v := h.GetRawValue(); len(v) > 0 {
		return v
	}
	return []byte(h.GetValue())
}

func (hs *headerSet) get(name string) string {
	if v := hs.values(name); len(v) > 0 {
		return v[0]
	}
	return ""
}

// httpHeader returns the regular (non-pseudo) headers as an http.Header the caller may change.
func (hs *headerSet) httpHeader() http.Header {
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
func (hs *headerSet) view() http.Header {
	h := make(http.Header, len(hs.fields))
	for _, f := range hs.fields {
		if !strings.HasPrefix(f.Name, ":") {
			h[gateway.CanonicalKey(f.Name)] = f.Values
		}
	}
	return h
}

// diffRequest fills mut with the header mutation that turns the headers Envoy sent into the
// signed request: :path and :authority when they changed, every changed header set, every
// dropped one removed.
func diffRequest(mut *extprocv3.HeaderMutation, orig *headerSet, req *signer.Request) {
	diffHeadersInto(mut, orig, req.Header)
	if req.Path != orig.get(":path") {
		addSet(mut, setHeader(":path", req.Path, false))
	}
	if req.Authority != orig.get(":authority") {
		addSet(mut, setHeader(":authority", req.Authority, false))
	}
	if req.Method != orig.get(":method") && req.Method != "" {
		addSet(mut, setHeader(":method", req.Method, false))
	}
}

// diffHeaders compares regular headers only. content-length is left to the body response,
// which sets it to the exact length of the new body.
func diffHeaders(orig *headerSet, final http.Header) *extprocv3.HeaderMutation {
	mut := &extprocv3.HeaderMutation{}
	diffHeadersInto(mut, orig, final)
	return mut
}

// diffHeadersInto is diffHeaders filling mut.
func diffHeadersInto(mut *extprocv3.HeaderMutation, orig *headerSet, final http.Header) {
	var nameBuf [64]byte
	for _, f := range orig.fields {
		if strings.HasPrefix(f.Name, ":") || f.Name == "content-length" {
			continue
		}
		if _, kept := final[string(appendCanonicalKey(nameBuf[:0], f.Name))]; !kept {
			mut.RemoveHeaders = append(mut.RemoveHeaders, f.Name)
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
		// header that is set (most are the caller's, unchanged) and not a well-known one.
		lower := appendLower(lowerBuf[:0], k)
		if string(lower) == "content-length" || slices.Equal(final[k], orig.valuesBytes(lower)) {
			continue
		}
		name := gateway.LowerName(lower)
		for i, v := range final[k] {
			addSet(mut, setHeader(name, v, i > 0))
		}
	}
}

// appendCanonicalKey appends http.CanonicalHeaderKey(name) to dst without allocating for the
// names Envoy sends (lower-case letters, digits and dashes: the first letter and each after a
// dash upper-cased); any other name goes through http.CanonicalHeaderKey itself.
func appendCanonicalKey(dst []byte, name string) []byte {
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

// appendLower appends s with its ASCII letters lower-cased, and every other byte as it is, to dst:
// Envoy's lower-casing of header names (see lowerASCII), never strings.ToLower's Unicode folding.
func appendLower(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}

// addSet appends o to mut's set headers, with room for a few from the first: a signed request
// sets :path, :authority and a header or two (growing one by one was three allocations).
func addSet(mut *extprocv3.HeaderMutation, o *corev3.HeaderValueOption) {
	if mut.SetHeaders == nil {
		mut.SetHeaders = make([]*corev3.HeaderValueOption, 0, 4)
	}
	mut.SetHeaders = append(mut.SetHeaders, o)
}

// setHeader builds a HeaderValueOption the way Envoy reads it: raw_value only (a value-only
// header is set to ""), and the legacy append flag (append_action is ignored by ext_proc).
// The option, its value and a short value's bytes are one allocation; the append flags are shared (never modified,
// like the processing modes).
func setHeader(name, value string, appendValue bool) *corev3.HeaderValueOption {
	o := &headerOption{value: corev3.HeaderValue{Key: name}}
	if len(value) <= len(o.raw) {
		o.value.RawValue = append(o.raw[:0:len(value)], value...)
	} else {
		o.value.RawValue = []byte(value)
	}
	o.option.Header = &o.value
	//lint:ignore SA1019 ext_proc reads only the legacy append flag, not append_action.
	o.option.Append = appendFlags[b2i(appendValue)]
	return &o.option
}

// headerOption is a HeaderValueOption with the HeaderValue it points to and, for a short
// value, the value's bytes.
type headerOption struct {
	option corev3.HeaderValueOption
	value  corev3.HeaderValue
	raw    [64]byte
}

// appendFlags are the two append values setHeader shares: [false, true].
var appendFlags = [2]*wrapperspb.BoolValue{wrapperspb.Bool(false), wrapperspb.Bool(true)}
