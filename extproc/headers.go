package extproc

import (
	"net/http"
	"slices"
	"strings"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/keygate/keygate/signer"
)

// headerSet is a header map as Envoy sent it: lower-case names, pseudo-headers included, each
// value from raw_value (Envoy fills raw_value and leaves value empty; value is read only as a
// fallback for hand-written clients).
type headerSet struct {
	names []string            // first-seen order
	vals  map[string][]string // lower-case name -> values
}

func newHeaderSet(hm *corev3.HeaderMap) *headerSet {
	in := hm.GetHeaders()
	// Sized once, and each name's first value sliced from one backing array (capacity 1, so a
	// repeated header's append copies): two allocations per header fewer (profiled).
	hs := &headerSet{vals: make(map[string][]string, len(in)), names: make([]string, 0, len(in))}
	backing := make([]string, len(in))
	for i, h := range in {
		name := strings.ToLower(h.GetKey())
		v := string(h.GetRawValue())
		if v == "" {
			v = h.GetValue()
		}
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

func (hs *headerSet) get(name string) string {
	if v := hs.vals[name]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// httpHeader returns the regular (non-pseudo) headers as an http.Header the caller may change.
func (hs *headerSet) httpHeader() http.Header {
	h := hs.view()
	for name, v := range h {
		h[name] = slices.Clone(v)
	}
	return h
}

// view is httpHeader sharing the value slices: for a reader. The request's headers are only
// read (gateway.BeginWith copies what it forwards), so they are not copied twice.
func (hs *headerSet) view() http.Header {
	h := make(http.Header, len(hs.names))
	for _, name := range hs.names {
		if !strings.HasPrefix(name, ":") {
			h[http.CanonicalHeaderKey(name)] = hs.vals[name]
		}
	}
	return h
}

// diffRequest is the header mutation that turns the headers Envoy sent into the signed request:
// :path and :authority when they changed, every changed header set, every dropped one removed.
func diffRequest(orig *headerSet, req *signer.Request) *extprocv3.HeaderMutation {
	mut := diffHeaders(orig, req.Header)
	if req.Path != orig.get(":path") {
		mut.SetHeaders = append(mut.SetHeaders, setHeader(":path", req.Path, false))
	}
	if req.Authority != orig.get(":authority") {
		mut.SetHeaders = append(mut.SetHeaders, setHeader(":authority", req.Authority, false))
	}
	if req.Method != orig.get(":method") && req.Method != "" {
		mut.SetHeaders = append(mut.SetHeaders, setHeader(":method", req.Method, false))
	}
	return mut
}

// diffHeaders compares regular headers only. content-length is left to the body response,
// which sets it to the exact length of the new body.
func diffHeaders(orig *headerSet, final http.Header) *extprocv3.HeaderMutation {
	mut := &extprocv3.HeaderMutation{}
	for _, name := range orig.names {
		if strings.HasPrefix(name, ":") || name == "content-length" {
			continue
		}
		if _, kept := final[http.CanonicalHeaderKey(name)]; !kept {
			mut.RemoveHeaders = append(mut.RemoveHeaders, name)
		}
	}
	keys := make([]string, 0, len(final))
	for k := range final {
		keys = append(keys, k)
	}
	slices.Sort(keys) // deterministic mutations
	for _, k := range keys {
		name := strings.ToLower(k)
		if name == "content-length" || slices.Equal(final[k], orig.vals[name]) {
			continue
		}
		for i, v := range final[k] {
			mut.SetHeaders = append(mut.SetHeaders, setHeader(name, v, i > 0))
		}
	}
	return mut
}

// setHeader builds a HeaderValueOption the way Envoy reads it: raw_value only (a value-only
// header is set to ""), and the legacy append flag (append_action is ignored by ext_proc).
func setHeader(name, value string, appendValue bool) *corev3.HeaderValueOption {
	return &corev3.HeaderValueOption{
		Header: &corev3.HeaderValue{Key: name, RawValue: []byte(value)},
		//lint:ignore SA1019 ext_proc reads only the legacy append flag, not append_action.
		Append: wrapperspb.Bool(appendValue),
	}
}
