package extproc

import (
	"context"
	"fmt"
	"sync"
	"testing"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	filterv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"

	"github.com/keygate/keygate/internal/gateway"
	"github.com/keygate/keygate/internal/routing"
	"github.com/keygate/keygate/signer"
)

// TestRedTeamSharedAnswersUnderMixedConcurrentStreams: streams of every kind at once over real
// gRPC (answered with a shared message, with an answer built for them, refused, in the ingress
// phase, with a caller's keygate header to strip, and reading the response body), each run to
// its end, so that every code path after a shared answer runs while gRPC marshals the same
// message for other streams (-race). Each stream gets the answer its request calls for, and the
// shared messages and the modes they point to are as built.
func TestRedTeamSharedAnswersUnderMixedConcurrentStreams(t *testing.T) {
	snap := testSnapshot(t, `
  - {name: hdr, hosts: [hdr.local], upstream: {url: "https://hdr.example/p"}, signing: [{scheme: header}]}
  - {name: body, hosts: [body.local], upstream: {url: "https://body.example"}, signing: [{scheme: body}]}
  - {name: v, hosts: [v.local], upstream: {url: "https://v.example"}, signing: [{scheme: verify}]}
`, signer.Catalog{
		"header": func(signer.Build) (signer.Step, error) { return headerStep{}, nil },
		"body":   func(signer.Build) (signer.Step, error) { return bodyStep{}, nil },
		"verify": func(signer.Build) (signer.Step, error) { return verifyStep{}, nil },
	})
	var h gateway.Holder
	h.Store(snap)
	g, _ := NewGRPCServer(NewServer(Options{Snapshots: &h}), 1<<20)
	client := extprocv3.NewExternalProcessorClient(serveOn(t, g))

	wantModes := modesBuilt()
	sharedBefore := []proto.Message{proto.Clone(continueResponseHeaders)}
	for _, m := range continueRequestHeaders {
		for _, m := range m {
			for _, m := range m {
				sharedBefore = append(sharedBefore, proto.Clone(m))
			}
		}
	}
	body := func(b string) *extprocv3.ProcessingRequest {
		return &extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_RequestBody{
			RequestBody: &extprocv3.HttpBody{Body: []byte(b), EndOfStream: true}}}
	}
	respHeaders := &extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_ResponseHeaders{
		ResponseHeaders: &extprocv3.HttpHeaders{Headers: &corev3.HeaderMap{Headers: []*corev3.HeaderValue{
			{Key: ":status", RawValue: []byte("200")}, {Key: "x-answer", RawValue: []byte("a")}}}}}}
	respBody := &extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_ResponseBody{
		ResponseBody: &extprocv3.HttpBody{Body: []byte("genuine"), EndOfStream: true}}}
	withBody := func(host string, extra ...*corev3.HeaderValue) *extprocv3.ProcessingRequest {
		m := requestWith(host, extra...)
		m.GetRequestHeaders().EndOfStream = false
		return m
	}
	type kind struct {
		phase string
		msgs  []*extprocv3.ProcessingRequest
		check func(i int, r *extprocv3.ProcessingResponse) error
	}
	kinds := []kind{
		{"", []*extprocv3.ProcessingRequest{withBody("body.local"), body("{}"), respHeaders}, func(i int, r *extprocv3.ProcessingResponse) error {
			if i == 0 && (r.GetRequestHeaders().GetResponse() != nil || !proto.Equal(r.GetModeOverride(), wantModes[1][0][0])) {
				return fmt.Errorf("continue answer %v", r)
			}
			if i == 1 && string(r.GetRequestBody().GetResponse().GetBodyMutation().GetBody()) != "{}-signed" {
				return fmt.Errorf("body answer %v", r)
			}
			return nil
		}},
		{"", []*extprocv3.ProcessingRequest{withBody("body.local", &corev3.HeaderValue{Key: "x-keygate-tenant-key", RawValue: []byte("k")}), body("{}")},
			func(i int, r *extprocv3.ProcessingResponse) error {
				if i == 0 && len(r.GetRequestHeaders().GetResponse().GetHeaderMutation().GetRemoveHeaders()) != 1 {
					return fmt.Errorf("strip answer %v", r)
				}
				return nil
			}},
		{"", []*extprocv3.ProcessingRequest{requestWith("v.local"), respHeaders, respBody}, func(i int, r *extprocv3.ProcessingResponse) error {
			if i == 1 && (r.GetResponseHeaders().GetResponse() != nil || r.GetModeOverride() != nil) {
				return fmt.Errorf("continue response answer %v", r)
			}
			if i == 2 && r.GetResponseBody().GetResponse().GetBodyMutation().GetBody() == nil {
				return fmt.Errorf("verified answer %v", r)
			}
			return nil
		}},
		{"", []*extprocv3.ProcessingRequest{requestWith("hdr.local"), respHeaders}, func(i int, r *extprocv3.ProcessingResponse) error {
			if i == 0 && sets(r.GetRequestHeaders().GetResponse().GetHeaderMutation())["x-sig"] != "s" {
				return fmt.Errorf("signed answer %v", r)
			}
			return nil
		}},
		{"", []*extprocv3.ProcessingRequest{requestWith("nobody.local")}, func(_ int, r *extprocv3.ProcessingResponse) error {
			if r.GetImmediateResponse() == nil {
				return fmt.Errorf("unknown provider answered %v", r)
			}
			return nil
		}},
		{routing.IngressPhase, []*extprocv3.ProcessingRequest{withBody("body.local")}, func(_ int, r *extprocv3.ProcessingResponse) error {
			if r.GetImmediateResponse() == nil {
				return fmt.Errorf("an egress provider served in the ingress phase: %v", r)
			}
			return nil
		}},
	}
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for w := range 12 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range 40 {
				k := kinds[(w+n)%len(kinds)]
				ctx := context.Background()
				if k.phase != "" {
					ctx = metadata.AppendToOutgoingContext(ctx, routing.PhaseMetadata, k.phase)
				}
				stream, err := client.Process(ctx)
				if err != nil {
					errs <- err
					return
				}
				for i, m := range k.msgs {
					if err := stream.Send(m); err != nil {
						errs <- err
						return
					}
					r, err := stream.Recv()
					if err == nil {
						err = k.check(i, r)
					}
					if err != nil {
						errs <- fmt.Errorf("kind %d message %d: %w", (w+n)%len(kinds), i, err)
						return
					}
					if r.GetImmediateResponse() != nil {
						break
					}
				}
				_ = stream.CloseSend()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	i := 0
	if !proto.Equal(sharedBefore[0], continueResponseHeaders) {
		t.Errorf("continueResponseHeaders changed to %v", continueResponseHeaders)
	}
	for rb := range 2 {
		for rh := range 2 {
			for rsb := range 2 {
				i++
				got := continueRequestHeaders[rb][rh][rsb]
				if !proto.Equal(sharedBefore[i], got) || got.ModeOverride != modes[rb][rh][rsb] || !proto.Equal(modes[rb][rh][rsb], wantModes[rb][rh][rsb]) {
					t.Errorf("continueRequestHeaders[%d][%d][%d] changed to %v", rb, rh, rsb, got)
				}
			}
		}
	}
}

// modesBuilt are the eight modes as the modes table is meant to hold them, built afresh.
func modesBuilt() (t [2][2][2]*filterv3.ProcessingMode) {
	on := func(b int, m filterv3.ProcessingMode_HeaderSendMode) filterv3.ProcessingMode_HeaderSendMode {
		if b == 1 {
			return m
		}
		return filterv3.ProcessingMode_SKIP
	}
	body := func(b int) filterv3.ProcessingMode_BodySendMode {
		if b == 1 {
			return filterv3.ProcessingMode_BUFFERED
		}
		return filterv3.ProcessingMode_NONE
	}
	for rb := range 2 {
		for rh := range 2 {
			for rsb := range 2 {
				t[rb][rh][rsb] = &filterv3.ProcessingMode{
					RequestHeaderMode: filterv3.ProcessingMode_SEND, ResponseHeaderMode: on(rh, filterv3.ProcessingMode_SEND),
					RequestBodyMode: body(rb), ResponseBodyMode: body(rsb),
					RequestTrailerMode: filterv3.ProcessingMode_SEND, ResponseTrailerMode: on(rsb, filterv3.ProcessingMode_SEND),
				}
			}
		}
	}
	return t
}
