package extproc

import (
	"context"
	"slices"
	"strconv"
	"testing"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	filterv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"

	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/internal/gateway"
	"github.com/keygate/keygate/signer"
)

// bodyStep appends to a JSON-free body so the body response must carry a new length.
type bodyStep struct{}

func (bodyStep) Needs() signer.Needs { return signer.Needs{RequestBody: true} }
func (bodyStep) SignRequest(_ context.Context, x *signer.Exchange) error {
	x.Request.SetBody(append(append([]byte{}, x.Request.Body()...), "-signed"...))
	return nil
}

type headerStep struct{}

func (headerStep) Needs() signer.Needs { return signer.Needs{} }
func (headerStep) SignRequest(_ context.Context, x *signer.Exchange) error {
	x.Request.Header.Set("X-Sig", "s")
	return nil
}

func testProcessor(t *testing.T) *processor {
	t.Helper()
	snap := testSnapshot(t, `
  - {name: hdr, hosts: [hdr.local], upstream: {url: "https://hdr.example/p"}, signing: [{scheme: header}]}
  - {name: body, hosts: [body.local], upstream: {url: "https://body.example"}, signing: [{scheme: body}]}
`, signer.Catalog{
		"header": func(signer.Build) (signer.Step, error) { return headerStep{}, nil },
		"body":   func(signer.Build) (signer.Step, error) { return bodyStep{}, nil },
	})
	return newProcessor(context.Background(), snap, Options{}.withDefaults())
}

// testSnapshot compiles a config of the given providers (YAML list items) with catalog.
func testSnapshot(t *testing.T, providers string, catalog signer.Catalog) *gateway.Snapshot {
	t.Helper()
	f, err := config.Parse([]byte("providers:" + providers))
	if err != nil {
		t.Fatal(err)
	}
	snap, err := (&gateway.Compiler{Catalog: catalog}).Compile(f, gateway.Meta{})
	if err != nil {
		t.Fatal(err)
	}
	return snap
}

func headersMsg(host string, eos bool) *extprocv3.ProcessingRequest {
	hs := []*corev3.HeaderValue{
		{Key: ":method", RawValue: []byte("POST")}, {Key: ":path", RawValue: []byte("/x")},
		{Key: ":authority", RawValue: []byte(host)}, {Key: "x-keygate-tenant-key", RawValue: []byte("k")},
	}
	return &extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_RequestHeaders{
		RequestHeaders: &extprocv3.HttpHeaders{Headers: &corev3.HeaderMap{Headers: hs}, EndOfStream: eos}}}
}

func sets(m *extprocv3.HeaderMutation) map[string]string {
	out := map[string]string{}
	for _, h := range m.GetSetHeaders() {
		out[h.GetHeader().GetKey()] = string(h.GetHeader().GetRawValue())
	}
	return out
}

func TestHeaderOnlyProviderSignsAtHeadersAndSkipsTheRest(t *testing.T) {
	p := testProcessor(t)
	resp, err := p.handle(headersMsg("hdr.local", false))
	if err != nil {
		t.Fatal(err)
	}
	mut := resp.GetRequestHeaders().GetResponse().GetHeaderMutation()
	got := sets(mut)
	if got[":path"] != "/p/x" || got[":authority"] != "hdr.example" || got["x-sig"] != "s" {
		t.Errorf("header mutation sets %v", got)
	}
	if len(got) != 3 {
		t.Errorf("header mutation sets %v, want only what the steps changed (:method did not change)", got)
	}
	if len(mut.GetRemoveHeaders()) != 1 || mut.GetRemoveHeaders()[0] != "x-keygate-tenant-key" {
		t.Errorf("removes %v, want keygate's header", mut.GetRemoveHeaders())
	}
	for _, h := range mut.GetSetHeaders() {
		if h.GetHeader().GetValue() != "" {
			t.Errorf("%s set through value: Envoy reads raw_value only", h.GetHeader().GetKey())
		}
	}
	want := &filterv3.ProcessingMode{RequestHeaderMode: filterv3.ProcessingMode_SEND,
		ResponseHeaderMode: filterv3.ProcessingMode_SKIP, RequestBodyMode: filterv3.ProcessingMode_NONE,
		ResponseBodyMode: filterv3.ProcessingMode_NONE, RequestTrailerMode: filterv3.ProcessingMode_SEND,
		ResponseTrailerMode: filterv3.ProcessingMode_SKIP}
	if got := resp.GetModeOverride(); got.String() != want.String() {
		t.Errorf("mode_override %v, want every mode set and nothing more asked for (the trailers only to strip keygate's)", got)
	}
	if resp.GetRequestHeaders().GetResponse().GetClearRouteCache() {
		t.Error("the route must stay the one chosen by the caller's alias")
	}
}

func TestBodyProviderSetsExactContentLength(t *testing.T) {
	p := testProcessor(t)
	resp, err := p.handle(headersMsg("body.local", false))
	if err != nil {
		t.Fatal(err)
	}
	if resp.GetModeOverride().GetRequestBodyMode() != filterv3.ProcessingMode_BUFFERED {
		t.Fatalf("headers phase of a body provider: %v", resp)
	}
	resp, err = p.handle(&extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_RequestBody{
		RequestBody: &extprocv3.HttpBody{Body: []byte("payload"), EndOfStream: true}}})
	if err != nil {
		t.Fatal(err)
	}
	cr := resp.GetRequestBody().GetResponse()
	body := cr.GetBodyMutation().GetBody()
	if string(body) != "payload-signed" || sets(cr.GetHeaderMutation())["content-length"] != strconv.Itoa(len(body)) {
		t.Errorf("body %q with content-length %q", body, sets(cr.GetHeaderMutation())["content-length"])
	}
}

func TestFailuresAnswerAndProtocolErrorsEndTheStream(t *testing.T) {
	p := testProcessor(t)
	resp, err := p.handle(headersMsg("nobody.local", true))
	if err != nil {
		t.Fatal(err)
	}
	if ir := resp.GetImmediateResponse(); ir.GetStatus().GetCode() != 404 || len(ir.GetBody()) == 0 {
		t.Fatalf("unknown host: %v", resp)
	}
	if _, err := p.handle(headersMsg("hdr.local", true)); err == nil {
		t.Error("a message after an immediate response must end the stream with an error")
	}
	fresh := testProcessor(t)
	if _, err := fresh.handle(&extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_ResponseBody{
		ResponseBody: &extprocv3.HttpBody{}}}); err == nil {
		t.Error("a response body before any request headers must end the stream with an error")
	}
}

// Envoy may continue after the request_headers response without a body message (HTTP/2
// HEADERS then trailers, no DATA: Filter::onTrailers sends a body only when data was
// buffered). So the headers response of a body provider already removes keygate's headers,
// asks for the trailers, and a request that reaches trailers or the response phase unsigned
// is refused.
func TestBodyProviderFailsClosedOnEveryMessageSequence(t *testing.T) {
	p := testProcessor(t)
	resp, err := p.handle(headersMsg("body.local", false))
	if err != nil {
		t.Fatal(err)
	}
	if rm := resp.GetRequestHeaders().GetResponse().GetHeaderMutation().GetRemoveHeaders(); len(rm) != 1 || rm[0] != "x-keygate-tenant-key" {
		t.Errorf("headers response removes %v: the tenant key must not leave if Envoy continues here", rm)
	}
	if resp.GetModeOverride().GetRequestTrailerMode() != filterv3.ProcessingMode_SEND {
		t.Errorf("request trailers not asked for: %v", resp.GetModeOverride())
	}
	resp, err = p.handle(&extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_RequestTrailers{
		RequestTrailers: &extprocv3.HttpTrailers{}}})
	if err != nil {
		t.Fatal(err)
	}
	if ir := resp.GetImmediateResponse(); ir.GetStatus().GetCode() != 400 {
		t.Fatalf("trailers before any body: %v, want an immediate 400", resp)
	}

	for _, status := range []string{"200", "413"} {
		p = testProcessor(t)
		if _, err := p.handle(headersMsg("body.local", false)); err != nil {
			t.Fatal(err)
		}
		resp, err = p.handle(&extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_ResponseHeaders{
			ResponseHeaders: &extprocv3.HttpHeaders{Headers: &corev3.HeaderMap{Headers: []*corev3.HeaderValue{
				{Key: ":status", RawValue: []byte(status)}}}}}})
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]int{"200": 502, "413": 413}[status]
		if ir := resp.GetImmediateResponse(); int(ir.GetStatus().GetCode()) != want {
			t.Fatalf("response %s to an unsigned request: %v, want an immediate %d", status, resp, want)
		}
	}

	// The ordinary sequence: body (not the end: trailers follow), then trailers, then response.
	p = testProcessor(t)
	if _, err := p.handle(headersMsg("body.local", false)); err != nil {
		t.Fatal(err)
	}
	if _, err := p.handle(&extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_RequestBody{
		RequestBody: &extprocv3.HttpBody{Body: []byte("b")}}}); err != nil {
		t.Fatal(err)
	}
	resp, err = p.handle(&extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_RequestTrailers{
		RequestTrailers: &extprocv3.HttpTrailers{Trailers: &corev3.HeaderMap{Headers: []*corev3.HeaderValue{
			{Key: "x-keygate-tenant-key", RawValue: []byte("k")}, {Key: "x-checksum", RawValue: []byte("c")}}}}}})
	if err != nil || resp.GetRequestTrailers() == nil {
		t.Fatalf("trailers after the signed body: %v %v", resp, err)
	}
	if rm := resp.GetRequestTrailers().GetHeaderMutation().GetRemoveHeaders(); len(rm) != 1 || rm[0] != "x-keygate-tenant-key" {
		t.Errorf("trailer removals %v: keygate's headers must not leave as trailers", rm)
	}
}

// TestEveryMessageSequenceFailsClosed walks every sequence Envoy could send after the request
// headers (up to three more messages, any order): keygate never answers request_trailers or
// a response message with a continue for a request it has not signed, and the headers response
// never leaves the tenant key in place. An error ends the stream (Envoy's 500), an
// ImmediateResponse ends the request: both stop the walk.
func TestEveryMessageSequenceFailsClosed(t *testing.T) {
	status200 := &corev3.HeaderMap{Headers: []*corev3.HeaderValue{{Key: ":status", RawValue: []byte("200")}}}
	next := map[string]*extprocv3.ProcessingRequest{
		"body":     {Request: &extprocv3.ProcessingRequest_RequestBody{RequestBody: &extprocv3.HttpBody{Body: []byte("b"), EndOfStream: true}}},
		"body-":    {Request: &extprocv3.ProcessingRequest_RequestBody{RequestBody: &extprocv3.HttpBody{Body: []byte("b")}}},
		"trailers": {Request: &extprocv3.ProcessingRequest_RequestTrailers{RequestTrailers: &extprocv3.HttpTrailers{}}},
		"resp":     {Request: &extprocv3.ProcessingRequest_ResponseHeaders{ResponseHeaders: &extprocv3.HttpHeaders{Headers: status200}}},
		"respbody": {Request: &extprocv3.ProcessingRequest_ResponseBody{ResponseBody: &extprocv3.HttpBody{Body: []byte("r"), EndOfStream: true}}},
	}
	var walk func(host string, eos bool, seq []string)
	walk = func(host string, eos bool, seq []string) {
		p := testProcessor(t)
		resp, err := p.handle(headersMsg(host, eos))
		if err != nil {
			t.Fatal(err)
		}
		if mut := resp.GetRequestHeaders().GetResponse().GetHeaderMutation(); !slices.Contains(mut.GetRemoveHeaders(), "x-keygate-tenant-key") {
			t.Fatalf("%s: headers response keeps the tenant key: %v", host, resp)
		}
		for i, kind := range seq {
			resp, err := p.handle(next[kind])
			if err != nil || resp.GetImmediateResponse() != nil {
				return // fails closed: Envoy answers the caller, nothing more leaves
			}
			if kind != "body" && kind != "body-" && !p.signed {
				t.Fatalf("%s eos=%v %v: %s at step %d answered with a continue for an unsigned request", host, eos, seq, kind, i)
			}
		}
		if len(seq) < 3 {
			for k := range next {
				walk(host, eos, append(slices.Clone(seq), k))
			}
		}
	}
	for _, host := range []string{"body.local", "hdr.local"} {
		for _, eos := range []bool{false, true} {
			walk(host, eos, nil)
		}
	}
}
