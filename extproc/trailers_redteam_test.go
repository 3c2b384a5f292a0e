package extproc

import (
	"slices"
	"strings"
	"testing"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	filterv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"

	"github.com/keygate/keygate/internal/routing"
)

func keygateTrailers() *extprocv3.ProcessingRequest {
	return &extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_RequestTrailers{
		RequestTrailers: &extprocv3.HttpTrailers{Trailers: &corev3.HeaderMap{Headers: []*corev3.HeaderValue{
			{Key: "x-keygate-tenant-key", RawValue: []byte("k")}, {Key: "x_keygate_callback", RawValue: []byte("provider=x")},
			{Key: "grpc-timeout", RawValue: []byte("1S")},
		}}}}}
}

// TestKeygateTrailersNeverLeave: a caller's request trailers carrying keygate's headers (its
// tenant key, a spoofed verified-by header) are removed however the request is signed: at the
// headers (no body asked for), and when its signing is deferred to a signed cluster's upstream
// filter. keygate asked for trailers only with the body, so these left as sent.
func TestKeygateTrailersNeverLeave(t *testing.T) {
	header := testProcessor(t)
	deferred, _ := upstreamProcessor(t, &fakeTokens{})
	deferred.upstream = false
	for name, tc := range map[string]struct {
		p   *processor
		msg *extprocv3.ProcessingRequest
	}{
		"signed at the headers": {header, headersMsg("hdr.local", false)},
		"deferred to the upstream filter": {deferred, withAttrs(headersMsg("pay.local", false),
			map[string]string{AttrClusterName: routing.SignedCluster("pay"), AttrRouteName: routing.RouteName("pay")})},
	} {
		t.Run(name, func(t *testing.T) {
			resp, err := tc.p.handle(tc.msg)
			if err != nil || resp.GetImmediateResponse() != nil {
				t.Fatalf("headers: %v %v", resp, err)
			}
			if m := resp.GetModeOverride().GetRequestTrailerMode(); m != filterv3.ProcessingMode_SEND {
				t.Fatalf("request trailers mode %v: Envoy forwards the caller's trailers unseen", m)
			}
			resp, err = tc.p.handle(keygateTrailers())
			if err != nil {
				t.Fatal(err)
			}
			rm := resp.GetRequestTrailers().GetHeaderMutation().GetRemoveHeaders()
			if !slices.Contains(rm, "x-keygate-tenant-key") || !slices.Contains(rm, "x_keygate_callback") || slices.Contains(rm, "grpc-timeout") {
				t.Fatalf("trailer removals %v, want keygate's and only keygate's", rm)
			}
		})
	}
}

// TestUpstreamPhaseRefusesKeygateTrailers: keygate trailers reaching the upstream phase mean the
// downstream phase did not strip them, as for headers: the attempt is stopped.
func TestUpstreamPhaseRefusesKeygateTrailers(t *testing.T) {
	p, _ := upstreamProcessor(t, &fakeTokens{})
	if _, err := p.handle(attemptMsg(routing.SignedCluster("pay"), "/api/x", false)); err != nil {
		t.Fatal(err)
	}
	if _, err := p.handle(bodyMsg("{}")); err != nil {
		t.Fatal(err)
	}
	if _, err := p.handle(keygateTrailers()); err == nil || !strings.Contains(err.Error(), "downstream phase did not run") {
		t.Fatalf("keygate trailers in the upstream phase: %v, want the attempt stopped", err)
	}
}
