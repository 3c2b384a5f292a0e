package extproc

import (
	"math/rand/v2"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"google.golang.org/protobuf/proto"

	"github.com/keygate/keygate/internal/tenancy"
	"github.com/keygate/keygate/signer"
)

// The differential tests of the seventh performance round: the header set, the diffs and the
// answers' header options against the implementation they replaced (headers_ref_test.go), over
// generated header lists that include what a hostile or broken client sends: repeated names in
// any case, pseudo-headers anywhere, empty values, raw_value and value both or neither, names
// that are not tokens or not UTF-8, and counts far past the inline room.

func (hs *headerSet) names() []string {
	names := make([]string, 0, len(hs.fields))
	for _, f := range hs.fields {
		names = append(names, f.Name)
	}
	return names
}

// headerNames are the names headers are drawn from: Envoy's, and every odd spelling.
var headerNames = []string{
	":path", ":method", ":authority", ":scheme", ":status", ":PATH", "content-length", "Content-Length",
	"content-type", "x-request-id", "x-a", "X-A", "x-A", "x-b", "x-api-key", "X-Api-Key", "x-sig",
	"x-keygate-tenant-key", "X-Keygate-Tenant-Key", "x-keygate-phase", "x-envoy-retry-on", "accept-encoding",
	"", ":", "-", "x_under", "x a", "x:y", "\xff", "\xfe\xff", "ÄBC", "äbc", "x-\u00e9", "te", "host",
	strings.Repeat("x-long", 8), strings.Repeat("X-Longer", 12), "x-1-b", "a--b",
	"authorization", "Authorization", "traceparent", "X-Forwarded-Proto", "x-amz-date", "X-Amz-Date", "accept",
}

var headerValues = []string{"", "v", "POST", "/orders", "/x?y=1", "h.local", "4096", "application/json",
	" spaced ", "\x00", "line\nbreak", strings.Repeat("v", 63), strings.Repeat("w", 64), strings.Repeat("z", 65),
	strings.Repeat("long value ", 40), "ünï"}

// randomHeaders is a header list of about n headers drawn from headerNames, headerValues and
// random bytes, filled as raw_value, value, both or neither.
func randomHeaders(r *rand.Rand, n int) *corev3.HeaderMap {
	hm := &corev3.HeaderMap{}
	for range n {
		var name string
		switch r.IntN(8) {
		case 0:
			name = randomToken(r)
		case 1:
			name = "x-h" + strings.Repeat("i", r.IntN(40))
		default:
			name = headerNames[r.IntN(len(headerNames))]
		}
		v := headerValues[r.IntN(len(headerValues))]
		h := &corev3.HeaderValue{Key: name}
		switch r.IntN(5) {
		case 0:
			h.Value = v
		case 1:
			h.RawValue, h.Value = []byte(v), "other"
		case 2:
		default:
			h.RawValue = []byte(v)
		}
		hm.Headers = append(hm.Headers, h)
	}
	return hm
}

func randomToken(r *rand.Rand) string {
	const chars = "abcXYZ-_09:é \xff"
	b := make([]byte, 1+r.IntN(12))
	for i := range b {
		b[i] = chars[r.IntN(len(chars))]
	}
	return string(b)
}

// headerCounts are the list lengths drawn: small ones mostly, the inline room's edges, and
// hostile counts.
func headerCount(r *rand.Rand) int {
	switch r.IntN(10) {
	case 0:
		return inlineHeaders - 1 + r.IntN(3)
	case 1:
		return 17 + r.IntN(200)
	case 2:
		if r.IntN(20) == 0 {
			return 3000
		}
		return 40
	default:
		return r.IntN(12)
	}
}

// checkHeaderSet compares every reading of a header set with the reference's.
func checkHeaderSet(t *testing.T, hm *corev3.HeaderMap) {
	t.Helper()
	got, want := newHeaderSet(hm), refNewHeaderSet(hm)
	if !slices.Equal(got.names(), want.names) {
		t.Fatalf("names %q, reference %q", got.names(), want.names)
	}
	for _, name := range append(slices.Clone(headerNames), want.names...) {
		if g, w := got.values(name), want.vals[name]; !slices.Equal(g, w) || (g == nil) != (w == nil) {
			t.Fatalf("values(%q) = %q, reference %q", name, g, w)
		}
		if g, w := got.get(name), want.get(name); g != w {
			t.Fatalf("get(%q) = %q, reference %q", name, g, w)
		}
	}
	if g, w := got.view(), want.view(); !reflect.DeepEqual(g, w) {
		t.Fatalf("view %q, reference %q", g, w)
	}
	if g, w := got.httpHeader(), want.httpHeader(); !reflect.DeepEqual(g, w) {
		t.Fatalf("httpHeader %q, reference %q", g, w)
	}
	if g, w := keygateRemovals(got), refKeygateRemovals(want); !proto.Equal(g, w) {
		t.Fatalf("keygateRemovals %v, reference %v", g, w)
	}
}

func refKeygateRemovals(hs *refHeaderSet) *extprocv3.HeaderMutation {
	var remove []string
	for _, name := range hs.names {
		if tenancy.IsKeygateHeader(name) {
			remove = append(remove, name)
		}
	}
	if remove == nil {
		return nil
	}
	return &extprocv3.HeaderMutation{RemoveHeaders: remove}
}

// finalHeaders is what steps might make of view: headers dropped, changed, added (in any case
// of key, canonical or not), given several values or none, content-length touched.
func finalHeaders(r *rand.Rand, view http.Header) http.Header {
	h := http.Header{}
	for k, v := range view {
		switch r.IntN(6) {
		case 0: // dropped
		case 1:
			h[k] = []string{headerValues[r.IntN(len(headerValues))]}
		case 2:
			h[k] = append(slices.Clone(v), "more")
		default:
			h[k] = slices.Clone(v)
		}
	}
	for range r.IntN(4) {
		name := headerNames[r.IntN(len(headerNames))]
		if r.IntN(2) == 0 {
			name = http.CanonicalHeaderKey(name)
		}
		var vals []string
		for range r.IntN(3) {
			vals = append(vals, headerValues[r.IntN(len(headerValues))])
		}
		h[name] = vals
	}
	if r.IntN(3) == 0 {
		h["Content-Length"] = []string{"12"}
	}
	return h
}

// TestHeaderSetMatchesReference holds the header set to the map-based one it replaced.
func TestHeaderSetMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(18, 7))
	checkHeaderSet(t, nil)
	checkHeaderSet(t, &corev3.HeaderMap{})
	for range 3000 {
		checkHeaderSet(t, randomHeaders(r, headerCount(r)))
	}
	// One name repeated past the inline room, and many distinct names: the index's two sides.
	var same, distinct corev3.HeaderMap
	for i := range 5000 {
		same.Headers = append(same.Headers, &corev3.HeaderValue{Key: []string{"x-a", "X-A"}[i%2], RawValue: []byte{byte(i)}})
		distinct.Headers = append(distinct.Headers, &corev3.HeaderValue{Key: "x-" + strings.Repeat("n", i%50) + string(rune('a'+i%26)), RawValue: []byte("v")})
	}
	checkHeaderSet(t, &same)
	checkHeaderSet(t, &distinct)
}

// TestDiffsMatchReference holds diffRequest and diffHeadersInto to the implementation they
// replaced: the same headers removed and set, in the same order, with the same flags.
func TestDiffsMatchReference(t *testing.T) {
	r := rand.New(rand.NewPCG(18, 8))
	for range 3000 {
		hm := randomHeaders(r, headerCount(r))
		got, want := newHeaderSet(hm), refNewHeaderSet(hm)
		final := finalHeaders(r, want.view())
		gm, wm := &extprocv3.HeaderMutation{}, &extprocv3.HeaderMutation{}
		diffHeadersInto(gm, got, final)
		refDiffHeadersInto(wm, want, final)
		if !proto.Equal(gm, wm) {
			t.Fatalf("diffHeadersInto:\n%v\nreference:\n%v", gm, wm)
		}
		pick := func(name string) string {
			switch r.IntN(3) {
			case 0:
				return want.get(name)
			case 1:
				return ""
			}
			return headerValues[r.IntN(len(headerValues))]
		}
		req := signer.NewRequest(pick(":method"), "https", pick(":authority"), pick(":path"), final, nil)
		gm, wm = &extprocv3.HeaderMutation{}, &extprocv3.HeaderMutation{}
		diffRequest(gm, got, req)
		refDiffRequest(wm, want, req)
		if !proto.Equal(gm, wm) {
			t.Fatalf("diffRequest:\n%v\nreference:\n%v", gm, wm)
		}
	}
}

// FuzzHeaderSetMatchesReference: header lists decoded from the fuzzer's bytes (a name and a
// value per NUL-separated pair, a leading byte choosing raw_value or value).
func FuzzHeaderSetMatchesReference(f *testing.F) {
	f.Add([]byte(":path\x00/x\x00X-A\x00one\x00x-a\x00two\x00\x01x-b\x00v\x00\x00\x00"))
	f.Add([]byte("x-keygate-tenant-key\x00k\x00X-Keygate-Tenant-Key\x00k2\x00:authority\x00h\x00\xff\x00\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		parts := strings.Split(string(data), "\x00")
		hm := &corev3.HeaderMap{}
		for i := 0; i+1 < len(parts); i += 2 {
			name, v := parts[i], parts[i+1]
			h := &corev3.HeaderValue{Key: name, RawValue: []byte(v)}
			if strings.HasPrefix(name, "\x01") {
				h.Key, h.RawValue, h.Value = name[1:], nil, v
			}
			hm.Headers = append(hm.Headers, h)
		}
		checkHeaderSet(t, hm)
		got, want := newHeaderSet(hm), refNewHeaderSet(hm)
		final := finalHeaders(rand.New(rand.NewPCG(uint64(len(data)), 1)), want.view())
		gm, wm := &extprocv3.HeaderMutation{}, &extprocv3.HeaderMutation{}
		diffHeadersInto(gm, got, final)
		refDiffHeadersInto(wm, want, final)
		if !proto.Equal(gm, wm) {
			t.Fatalf("diffHeadersInto:\n%v\nreference:\n%v", gm, wm)
		}
	})
}

// benchHeaderMap is the static-header scenario's request headers.
var benchHeaderMap = benchHeaders("", false, ":method", "POST", ":path", "/orders", ":authority", "static.bench.local",
	":scheme", "http", "content-type", "application/json", "content-length", "4096", "x-request-id", "r1").GetRequestHeaders().GetHeaders()

// BenchmarkHeaderSet and BenchmarkRefHeaderSet: a request's header set built and read as
// requestHeaders reads it, now and before the seventh round (run together, they interleave).
func BenchmarkHeaderSet(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		hs := newHeaderSet(benchHeaderMap)
		_, _, _, _ = hs.get(":method"), hs.get(":path"), hs.get(":authority"), hs.get("content-length")
		_ = hs.view()
	}
}

func BenchmarkRefHeaderSet(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		hs := refNewHeaderSet(benchHeaderMap)
		_, _, _, _ = hs.get(":method"), hs.get(":path"), hs.get(":authority"), hs.get("content-length")
		_ = hs.view()
	}
}
