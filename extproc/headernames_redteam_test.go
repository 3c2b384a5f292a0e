package extproc

import (
	"slices"
	"strings"
	"testing"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
)

// requestWith is a header-only request to host carrying extra as sent, names untouched.
func requestWith(host string, extra ...*corev3.HeaderValue) *extprocv3.ProcessingRequest {
	hs := append([]*corev3.HeaderValue{
		{Key: ":method", RawValue: []byte("POST")}, {Key: ":path", RawValue: []byte("/x")},
		{Key: ":authority", RawValue: []byte(host)},
	}, extra...)
	return &extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_RequestHeaders{
		RequestHeaders: &extprocv3.HttpHeaders{Headers: &corev3.HeaderMap{Headers: hs}, EndOfStream: true}}}
}

// forwarded applies an answer's header mutation to the headers Envoy holds as Envoy does
// (removals first, by exact name as Envoy keeps it: ASCII lower-case; then the sets in order,
// append=false replacing every value) and returns what leaves, name -> values in order.
func forwarded(sent []*corev3.HeaderValue, mut *extprocv3.HeaderMutation) map[string][]string {
	out := map[string][]string{}
	lower := func(s string) string {
		b := []byte(s)
		for i, c := range b {
			if 'A' <= c && c <= 'Z' {
				b[i] = c + 'a' - 'A'
			}
		}
		return string(b)
	}
	for _, h := range sent {
		k := lower(h.GetKey())
		out[k] = append(out[k], string(headerValue(h)))
	}
	for _, name := range mut.GetRemoveHeaders() {
		delete(out, lower(name))
	}
	for _, o := range mut.GetSetHeaders() {
		k := lower(o.GetHeader().GetKey())
		if appendFlag(o) {
			out[k] = append(out[k], string(o.GetHeader().GetRawValue()))
		} else {
			out[k] = []string{string(o.GetHeader().GetRawValue())}
		}
	}
	return out
}

// TestRedTeamLookAlikeKeygateHeadersNeverLeave: header names that fold onto keygate's own under
// Unicode case folding ('K' KELVIN SIGN for k, 'ſ' LONG S for s) are not keygate's to Envoy,
// which lower-cases ASCII only and removes by exact name. keygate lower-cased names with
// strings.ToLower, so "x-\u212aeygate-tenant-key" was read as the tenant key (identity decided
// from it) while the removal named "x-keygate-tenant-key", a header Envoy does not hold: the
// key left for the provider. Such a request is refused, or every look-alike is removed by the
// name Envoy holds; none leaves.
func TestRedTeamLookAlikeKeygateHeadersNeverLeave(t *testing.T) {
	for _, name := range []string{
		"x-\u212aeygate-tenant-key", "x-keygate-tenant-\u212aey", "X-\u212aEYGATE-TENANT-KEY",
		"x-\u212aeygate-callback", "x_\u212aeygate_tenant_key", "x-keygate-pha\u017fe",
	} {
		t.Run(name, func(t *testing.T) {
			p := testProcessor(t)
			extra := []*corev3.HeaderValue{{Key: name, RawValue: []byte("kg_secret")}}
			resp, err := p.handle(requestWith("hdr.local", extra...))
			if err != nil {
				t.Fatal(err)
			}
			if resp.GetImmediateResponse() != nil {
				return // refused: nothing leaves
			}
			mut := resp.GetRequestHeaders().GetResponse().GetHeaderMutation()
			for k, v := range forwarded(append(requestWith("hdr.local").GetRequestHeaders().GetHeaders().GetHeaders(), extra...), mut) {
				if slices.Contains(v, "kg_secret") || strings.EqualFold(strings.ReplaceAll(k, "_", "-"), "x-keygate-tenant-key") {
					t.Fatalf("header %q = %q leaves for the provider (removals %q)", k, v, mut.GetRemoveHeaders())
				}
			}
		})
	}
}
