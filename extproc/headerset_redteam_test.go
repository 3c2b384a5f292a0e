package extproc

import (
	"fmt"
	"slices"
	"strconv"
	"testing"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"

	"github.com/keygate/keygate/internal/failure"
)

// fillers are n distinct ordinary headers, as a caller pads a request to move the names it
// cares about past the header set's inline room (inlineHeaders: a scan below, a map above).
func fillers(n int) []*corev3.HeaderValue {
	out := make([]*corev3.HeaderValue, n)
	for i := range out {
		out[i] = &corev3.HeaderValue{Key: fmt.Sprintf("x-pad-%d", i), RawValue: []byte("p")}
	}
	return out
}

// around is every way of placing a header before, at and after the inline room's edge.
func around(f func(pad, at int)) {
	for pad := inlineHeaders - 4; pad <= inlineHeaders+4; pad++ {
		for at := 0; at <= pad; at++ {
			f(pad, at)
		}
	}
}

func insertAt(hs []*corev3.HeaderValue, at int, h ...*corev3.HeaderValue) []*corev3.HeaderValue {
	return slices.Insert(slices.Clone(hs), at, h...)
}

// TestRedTeamDuplicateTenantKeyAcrossTheInlineRoom: a second tenant key, sent as Envoy sends
// duplicates (a separate entry) or in another case (a hand-written client), wherever it falls
// around the set's switch from a scan to a map, is the same name's second value: refused (401),
// never one key read for identity while Envoy forwards another.
func TestRedTeamDuplicateTenantKeyAcrossTheInlineRoom(t *testing.T) {
	around(func(pad, at int) {
		for _, second := range []string{"x-keygate-tenant-key", "X-Keygate-Tenant-Key"} {
			hs := insertAt(fillers(pad), 0, &corev3.HeaderValue{Key: "x-keygate-tenant-key", RawValue: []byte("kg_a")})
			hs = insertAt(hs, at+1, &corev3.HeaderValue{Key: second, RawValue: []byte("kg_b")})
			resp, err := testProcessor(t).handle(requestWith("hdr.local", hs...))
			if err != nil {
				t.Fatal(err)
			}
			if got := resp.GetImmediateResponse().GetStatus().GetCode(); int(got) != failure.Status(failure.New(failure.Unauthenticated, "", "")) {
				t.Fatalf("pad %d, second %q at %d: answer %v, want 401 (two tenant keys)", pad, second, at+1, resp)
			}
		}
	})
}

// TestRedTeamCallersHeadersAcrossTheInlineRoom: whatever the caller puts where around the inline
// room's edge (its own copies of the signature header, in any case and any count; a keygate
// header; a content-length that the signed body no longer has), what Envoy forwards after
// applying the answer carries keygate's signature alone, no keygate header, and the exact
// length of the signed body.
func TestRedTeamCallersHeadersAcrossTheInlineRoom(t *testing.T) {
	around(func(pad, at int) {
		sig := []*corev3.HeaderValue{{Key: "x-sig", RawValue: []byte("forged1")}, {Key: "X-SIG", RawValue: []byte("forged2")}}
		hs := insertAt(fillers(pad), at, sig...)
		hs = insertAt(hs, (at*7)%(len(hs)+1), &corev3.HeaderValue{Key: "x_keygate_callback", RawValue: []byte("provider=x")})
		t.Run("", func(t *testing.T) {
			// Signed at the headers: the callback header is refused.
			resp, err := testProcessor(t).handle(requestWith("hdr.local", hs...))
			if err != nil || resp.GetImmediateResponse().GetStatus().GetCode() != 403 {
				t.Fatalf("pad %d at %d: %v %v, want the spoofed keygate header refused", pad, at, resp, err)
			}
			// Without it: the caller's signatures are replaced by keygate's.
			clean := slices.DeleteFunc(slices.Clone(hs), func(h *corev3.HeaderValue) bool { return h.Key == "x_keygate_callback" })
			resp, err = testProcessor(t).handle(requestWith("hdr.local", clean...))
			if err != nil || resp.GetImmediateResponse() != nil {
				t.Fatalf("pad %d at %d: %v %v", pad, at, resp, err)
			}
			out := forwarded(append(requestWith("hdr.local").GetRequestHeaders().GetHeaders().GetHeaders(), clean...),
				resp.GetRequestHeaders().GetResponse().GetHeaderMutation())
			if !slices.Equal(out["x-sig"], []string{"s"}) || len(out) != pad+4 {
				t.Fatalf("pad %d at %d: forwarded x-sig %q (%d headers)", pad, at, out["x-sig"], len(out))
			}
			// A body provider: the caller's content-length is replaced by the signed body's.
			p := testProcessor(t)
			msg := requestWith("body.local", insertAt(clean, at, &corev3.HeaderValue{Key: "content-length", RawValue: []byte("2")})...)
			msg.GetRequestHeaders().EndOfStream = false
			if resp, err = p.handle(msg); err != nil || resp.GetImmediateResponse() != nil {
				t.Fatalf("pad %d at %d: %v %v", pad, at, resp, err)
			}
			resp, err = p.handle(&extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_RequestBody{
				RequestBody: &extprocv3.HttpBody{Body: []byte("{}"), EndOfStream: true}}})
			if err != nil {
				t.Fatal(err)
			}
			body := resp.GetRequestBody().GetResponse().GetBodyMutation().GetBody()
			out = forwarded(msg.GetRequestHeaders().GetHeaders().GetHeaders(), resp.GetRequestBody().GetResponse().GetHeaderMutation())
			if !slices.Equal(out["content-length"], []string{strconv.Itoa(len(body))}) || string(body) != "{}-signed" {
				t.Fatalf("pad %d at %d: forwarded content-length %q for body %q", pad, at, out["content-length"], body)
			}
		})
	})
}
