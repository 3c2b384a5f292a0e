package extproc

import (
	"sync"
	"testing"

	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"google.golang.org/protobuf/proto"
)

// TestSharedAnswersMatchAnswersBuiltPerRequest: the answers shared by every stream are the
// messages that were built per request before the seventh performance round.
func TestSharedAnswersMatchAnswersBuiltPerRequest(t *testing.T) {
	for rb := range 2 {
		for rh := range 2 {
			for rsb := range 2 {
				want := &extprocv3.ProcessingResponse{
					Response: &extprocv3.ProcessingResponse_RequestHeaders{RequestHeaders: &extprocv3.HeadersResponse{
						Response: nil}},
					ModeOverride: modes[rb][rh][rsb],
				}
				if got := continueRequestHeaders[rb][rh][rsb]; !proto.Equal(got, want) || got.ModeOverride != modes[rb][rh][rsb] {
					t.Errorf("continueRequestHeaders[%d][%d][%d] = %v, want %v", rb, rh, rsb, got, want)
				}
			}
		}
	}
	if want := new(answer).responseHeaders(nil); !proto.Equal(continueResponseHeaders, want) {
		t.Errorf("continueResponseHeaders = %v, want %v", continueResponseHeaders, want)
	}
}

// TestSharedAnswersSurviveConcurrentStreams: streams answered with the shared messages at once
// (gRPC marshals each answer as it sends it) leave them as they were; run with -race.
func TestSharedAnswersSurviveConcurrentStreams(t *testing.T) {
	before := proto.Clone(continueResponseHeaders)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				for _, m := range []proto.Message{continueResponseHeaders, continueRequestHeaders[1][1][1], continueRequestHeaders[1][0][0]} {
					if _, err := proto.Marshal(m); err != nil {
						t.Error(err)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	if !proto.Equal(before, continueResponseHeaders) {
		t.Fatalf("continueResponseHeaders changed to %v", continueResponseHeaders)
	}
}
