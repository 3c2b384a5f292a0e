package extproc

import (
	"context"
	"testing"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	filterv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"

	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/internal/failure"
	"github.com/keygate/keygate/internal/gateway"
	"github.com/keygate/keygate/signer"
)

// verifyStep signs nothing and accepts only an answer whose body is "genuine": a provider's
// response signature, as wechatpay_v3 checks it.
type verifyStep struct{}

func (verifyStep) Needs() signer.Needs                                 { return signer.Needs{ResponseBody: true} }
func (verifyStep) SignRequest(context.Context, *signer.Exchange) error { return nil }
func (verifyStep) ProcessResponse(_ context.Context, x *signer.Exchange) error {
	if string(x.Response.Body) != "genuine" {
		return failure.New(failure.BadGateway, "verify", "the answer is not signed")
	}
	return nil
}

func verifyingProcessor(t *testing.T) *processor {
	t.Helper()
	f, err := config.Parse([]byte(`
providers:
  - {name: v, hosts: [v.local], upstream: {url: "https://v.example"}, signing: [{scheme: verify}]}
`))
	if err != nil {
		t.Fatal(err)
	}
	c := &gateway.Compiler{Catalog: signer.Catalog{"verify": func(signer.Build) (signer.Step, error) { return verifyStep{}, nil }}}
	snap, err := c.Compile(f, gateway.Meta{})
	if err != nil {
		t.Fatal(err)
	}
	return newProcessor(context.Background(), snap, Options{}.withDefaults())
}

// Red team: a hostile provider answer (or whoever answers in its place over an HTTP/2
// upstream) sends HEADERS with :status 200 and then trailers, no DATA. Envoy's
// Filter::onTrailers sends a body message only for buffered data, so keygate gets
// response_headers (not the end: it waits for the body) and then nothing: with response
// trailers SKIP Envoy continues with the answer's headers as they came, and the response steps
// (wechatpay_v3's signature check, a decrypt) never run. The caller gets an unverified 200.
// keygate asks for the response trailers whenever it reads the response body, and refuses an
// answer whose trailers arrive before its body was processed.
func TestRedTeamResponseTrailersWithoutBodySkipVerification(t *testing.T) {
	p := verifyingProcessor(t)
	resp, err := p.handle(headersMsg("v.local", true))
	if err != nil || resp.GetImmediateResponse() != nil {
		t.Fatalf("request headers: %v %v", resp, err)
	}
	mode := resp.GetModeOverride()
	if mode.GetResponseBodyMode() != filterv3.ProcessingMode_BUFFERED {
		t.Fatalf("response body mode %v, want BUFFERED for a verifying provider", mode.GetResponseBodyMode())
	}
	if mode.GetResponseTrailerMode() != filterv3.ProcessingMode_SEND {
		t.Fatalf("response trailer mode %v: an answer with trailers and no DATA reaches the caller unverified", mode.GetResponseTrailerMode())
	}
	resp, err = p.handle(&extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_ResponseHeaders{
		ResponseHeaders: &extprocv3.HttpHeaders{Headers: &corev3.HeaderMap{Headers: []*corev3.HeaderValue{
			{Key: ":status", RawValue: []byte("200")}}}}}})
	if err != nil || resp.GetImmediateResponse() != nil {
		t.Fatalf("response headers: %v %v", resp, err)
	}
	resp, err = p.handle(&extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_ResponseTrailers{
		ResponseTrailers: &extprocv3.HttpTrailers{Trailers: &corev3.HeaderMap{Headers: []*corev3.HeaderValue{
			{Key: "x-checksum", RawValue: []byte("c")}}}}}})
	if err != nil {
		t.Fatal(err)
	}
	if ir := resp.GetImmediateResponse(); ir.GetStatus().GetCode() != 502 {
		t.Fatalf("trailers before the response body: %v, want an immediate 502 (the answer was never verified)", resp)
	}

	// The ordinary sequence still works: the body is verified, then its trailers pass.
	p = verifyingProcessor(t)
	if _, err := p.handle(headersMsg("v.local", true)); err != nil {
		t.Fatal(err)
	}
	if _, err := p.handle(&extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_ResponseHeaders{
		ResponseHeaders: &extprocv3.HttpHeaders{Headers: &corev3.HeaderMap{Headers: []*corev3.HeaderValue{
			{Key: ":status", RawValue: []byte("200")}}}}}}); err != nil {
		t.Fatal(err)
	}
	resp, err = p.handle(&extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_ResponseBody{
		ResponseBody: &extprocv3.HttpBody{Body: []byte("genuine")}}})
	if err != nil || resp.GetResponseBody() == nil {
		t.Fatalf("verified body: %v %v", resp, err)
	}
	resp, err = p.handle(&extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_ResponseTrailers{
		ResponseTrailers: &extprocv3.HttpTrailers{}}})
	if err != nil || resp.GetResponseTrailers() == nil {
		t.Fatalf("trailers after the verified body: %v %v, want them passed", resp, err)
	}
}
