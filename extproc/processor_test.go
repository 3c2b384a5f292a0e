package extproc

import (
	"context"
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
	f, err := config.Parse([]byte(`
providers:
  - {name: hdr, hosts: [hdr.local], upstream: {url: "https://hdr.example/p"}, signing: [{scheme: header}]}
  - {name: body, hosts: [body.local], upstream: {url: "https://body.example"}, signing: [{scheme: body}]}
`))
	if err != nil {
		t.Fatal(err)
	}
	c := &gateway.Compiler{Catalog: signer.Catalog{
		"header": func(signer.Build) (signer.Step, error) { return headerStep{}, nil },
		"body":   func(signer.Build) (signer.Step, error) { return bodyStep{}, nil },
	}}
	snap, err := c.Compile(f, gateway.Meta{})
	if err != nil {
		t.Fatal(err)
	}
	return newProcessor(context.Background(), snap, Options{}.withDefaults())
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
		ResponseBodyMode: filterv3.ProcessingMode_NONE, RequestTrailerMode: filterv3.ProcessingMode_SKIP,
		ResponseTrailerMode: filterv3.ProcessingMode_SKIP}
	if got := resp.GetModeOverride(); got.String() != want.String() {
		t.Errorf("mode_override %v, want every mode set and nothing more asked for", got)
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
	if resp.GetRequestHeaders().GetResponse() != nil || resp.GetModeOverride().GetRequestBodyMode() != filterv3.ProcessingMode_BUFFERED {
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
