package extproc

import (
	"net/http"
	"slices"
	"strconv"
	"testing"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"

	"github.com/keygate/keygate/internal/gateway"
	"github.com/keygate/keygate/signer"
)

// appendFlag is the header option's legacy append flag, the one ext_proc reads.
func appendFlag(h *corev3.HeaderValueOption) bool {
	//lint:ignore SA1019 ext_proc reads only the legacy append flag, not append_action.
	return h.GetAppend().GetValue()
}

// TestCallersSignatureHeaderIsReplaced: a header the steps set that the caller also sent (a
// forged signature, a stale Authorization) is set with append=false, so Envoy replaces the
// caller's value instead of sending both to the provider.
func TestCallersSignatureHeaderIsReplaced(t *testing.T) {
	p := testProcessor(t)
	msg := headersMsg("hdr.local", false)
	hm := msg.GetRequestHeaders().GetHeaders()
	hm.Headers = append(hm.Headers, &corev3.HeaderValue{Key: "x-sig", RawValue: []byte("forged")})
	resp, err := p.handle(msg)
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, h := range resp.GetRequestHeaders().GetResponse().GetHeaderMutation().GetSetHeaders() {
		if h.GetHeader().GetKey() != "x-sig" {
			continue
		}
		found = true
		if string(h.GetHeader().GetRawValue()) != "s" || appendFlag(h) {
			t.Errorf("x-sig set to %q with append=%v, want the signature replacing the caller's", h.GetHeader().GetRawValue(), appendFlag(h))
		}
	}
	if !found {
		t.Fatal("the signature header is not in the mutation")
	}
}

// TestMultiValuedHeaderKeepsEveryValue: a header the steps give two values is set once and then
// appended to, so Envoy forwards both in order.
func TestMultiValuedHeaderKeepsEveryValue(t *testing.T) {
	orig := newHeaderSet(&corev3.HeaderMap{Headers: []*corev3.HeaderValue{{Key: "x-a", RawValue: []byte("old")}}})
	mut := diffHeaders(orig, http.Header{"X-A": {"one", "two"}})
	var got []string
	for _, h := range mut.GetSetHeaders() {
		got = append(got, string(h.GetHeader().GetRawValue())+map[bool]string{true: "+", false: "="}[appendFlag(h)])
	}
	if len(got) != 2 || got[0] != "one=" || got[1] != "two+" {
		t.Errorf("x-a set as %v, want [one= two+] (replace, then append)", got)
	}
}

// TestMethodChangesOnlyToARealMethod: :method is in the mutation only when a step changed it to
// a method; an unchanged or empty one leaves Envoy's.
func TestMethodChangesOnlyToARealMethod(t *testing.T) {
	orig := newHeaderSet(&corev3.HeaderMap{Headers: []*corev3.HeaderValue{
		{Key: ":method", RawValue: []byte("POST")}, {Key: ":path", RawValue: []byte("/x")}, {Key: ":authority", RawValue: []byte("h")}}})
	for _, tt := range []struct {
		method string
		want   bool
	}{{"POST", false}, {"", false}, {"PUT", true}} {
		req := signer.NewRequest(tt.method, "https", "h", "/x", http.Header{}, nil)
		var set bool
		mut := &extprocv3.HeaderMutation{}
		diffRequest(mut, orig, req)
		for _, h := range mut.GetSetHeaders() {
			if h.GetHeader().GetKey() == ":method" {
				set = string(h.GetHeader().GetRawValue()) == "PUT"
				if !set {
					t.Errorf("request method %q: :method set to %q", tt.method, h.GetHeader().GetRawValue())
				}
			}
		}
		if set != tt.want {
			t.Errorf("request method %q: :method set = %v, want %v", tt.method, set, tt.want)
		}
	}
}

// TestDeclaredBodyOverTheLimitIsRefusedAtTheHeaders: a Content-Length over the body limit is
// answered 413 at the headers, before Envoy buffers the body; one at the limit goes on.
func TestDeclaredBodyOverTheLimitIsRefusedAtTheHeaders(t *testing.T) {
	for _, tt := range []struct {
		length string
		want   int
	}{{strconv.Itoa(gateway.DefaultMaxBody + 1), 413}, {strconv.Itoa(gateway.DefaultMaxBody), 0}} {
		p := testProcessor(t)
		msg := headersMsg("body.local", false)
		hm := msg.GetRequestHeaders().GetHeaders()
		hm.Headers = append(hm.Headers, &corev3.HeaderValue{Key: "content-length", RawValue: []byte(tt.length)})
		resp, err := p.handle(msg)
		if err != nil {
			t.Fatal(err)
		}
		if got := int(resp.GetImmediateResponse().GetStatus().GetCode()); got != tt.want {
			t.Errorf("content-length %s: immediate status %d, want %d", tt.length, got, tt.want)
		}
	}
}

// TestHeaderSetReadsEnvoysHeaders: raw_value first, value when raw_value is empty, names
// lower-cased, a repeated name keeps every value in order, and values sliced from one text
// stay each their own.
func TestHeaderSetReadsEnvoysHeaders(t *testing.T) {
	hs := newHeaderSet(&corev3.HeaderMap{Headers: []*corev3.HeaderValue{
		{Key: ":path", RawValue: []byte("/p")},
		{Key: "X-A", RawValue: []byte("one")},
		{Key: "x-b", Value: "from-value"},
		{Key: "x-a", RawValue: []byte("two")},
		{Key: "x-empty"},
		{Key: "x-c", RawValue: []byte("raw"), Value: "ignored"},
	}})
	if got := hs.names(); !slices.Equal(got, []string{":path", "x-a", "x-b", "x-empty", "x-c"}) {
		t.Fatalf("names %q", got)
	}
	want := map[string][]string{":path": {"/p"}, "x-a": {"one", "two"}, "x-b": {"from-value"}, "x-empty": {""}, "x-c": {"raw"}}
	for name, vals := range want {
		if got := hs.values(name); !slices.Equal(got, vals) {
			t.Errorf("%s = %q, want %q", name, got, vals)
		}
	}
	// A step appending to a copied value list must not reach the next header's value.
	h := hs.httpHeader()
	h["X-B"] = append(h["X-B"], "added")
	if got := hs.values("x-empty"); !slices.Equal(got, []string{""}) {
		t.Fatalf("an append reached another header: %q", got)
	}
	for name, want := range map[string][]string{"X-A": {"one", "two"}, "X-Empty": {""}, "X-C": {"raw"}, "X-B": {"from-value", "added"}} {
		if !slices.Equal(h[name], want) {
			t.Fatalf("the copy's %s = %q, want %q", name, h[name], want)
		}
	}
	h["X-A"][0] = "changed" // the copy's values are its own
	if got := hs.values("x-a"); got[0] != "one" {
		t.Fatalf("changing the copy changed the set: %q", got)
	}
}

// TestSetHeaderSharesOnlyTheFlags: each option has its own value; the append flags are the
// two shared messages and keep their values.
func TestSetHeaderSharesOnlyTheFlags(t *testing.T) {
	a, b := setHeader("x-a", "1", false), setHeader("x-b", "2", true)
	if a.GetHeader().GetKey() != "x-a" || string(a.GetHeader().GetRawValue()) != "1" || appendFlag(a) {
		t.Fatalf("a = %v", a)
	}
	if b.GetHeader().GetKey() != "x-b" || string(b.GetHeader().GetRawValue()) != "2" || !appendFlag(b) {
		t.Fatalf("b = %v", b)
	}
	if a.GetHeader() == b.GetHeader() || !appendFlags[1].GetValue() || appendFlags[0].GetValue() {
		t.Fatal("setHeader shares a header value, or a shared flag changed")
	}
}

// TestAppendCanonicalKeyIsCanonicalHeaderKey holds appendCanonicalKey to net/http's answer for
// Envoy's names, odd names and every single byte.
func TestAppendCanonicalKeyIsCanonicalHeaderKey(t *testing.T) {
	names := []string{"", "a", "-", "--a", "a-", "x-api-key", "content-type", "x-request-id", "www-authenticate",
		"x-1-b", "X-Api-Key", "x-API-key", "x_underscore", "x api", "x:y", "\xff", "x-\u00e9", "te", "dnt", "a--b"}
	for c := range 256 {
		names = append(names, string(rune(c)), "a"+string([]byte{byte(c)})+"b", "x-"+string([]byte{byte(c)}))
	}
	for _, name := range names {
		if got, want := string(appendCanonicalKey(nil, name)), http.CanonicalHeaderKey(name); got != want {
			t.Errorf("appendCanonicalKey(%q) = %q, want %q", name, got, want)
		}
	}
}

// TestHeaderSetPastItsInlineRoom: a request with more headers than the set keeps inline reads
// the same.
func TestHeaderSetPastItsInlineRoom(t *testing.T) {
	for _, n := range []int{inlineHeaders - 1, inlineHeaders, inlineHeaders + 1, 3 * inlineHeaders} {
		var hm corev3.HeaderMap
		for i := range n {
			hm.Headers = append(hm.Headers, &corev3.HeaderValue{Key: "x-h" + strconv.Itoa(i%(n-2)), RawValue: []byte("v" + strconv.Itoa(i))})
		}
		hs := newHeaderSet(&hm)
		if len(hs.names()) != n-2 {
			t.Fatalf("%d headers: %d names", n, len(hs.names()))
		}
		for i := range n {
			name := "x-h" + strconv.Itoa(i%(n-2))
			if !slices.Contains(hs.values(name), "v"+strconv.Itoa(i)) {
				t.Fatalf("%d headers: %s = %q, missing v%d", n, name, hs.values(name), i)
			}
		}
	}
}
