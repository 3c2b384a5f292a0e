package extproc

import (
	"fmt"
	"sync"
	"testing"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"google.golang.org/protobuf/proto"
)

// TestRedTeamSharedAppendFlagsAcrossStreams: every header option points to one of two shared
// BoolValue messages. Streams marshal their answers at once (gRPC's codec caches sizes in the
// messages it walks, the shared flags included), so under -race many goroutines build,
// marshal and read back answers: each must carry its own headers, values and append flag.
func TestRedTeamSharedAppendFlagsAcrossStreams(t *testing.T) {
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				a := new(answer)
				_, mut := a.mutation(nil, false)
				value := fmt.Sprintf("g%d-i%d-%0*d", g, i, i%100, 0)
				addSet(mut, setHeader("x-g", value, (g+i)%2 == 1))
				addSet(mut, setHeader("x-h", value+"!", (g+i)%2 == 0))
				wire, err := proto.Marshal(a.requestHeaders(&a.common, nil))
				if err != nil {
					errs <- err
					return
				}
				var back extprocv3.ProcessingResponse
				if err := proto.Unmarshal(wire, &back); err != nil {
					errs <- err
					return
				}
				set := back.GetRequestHeaders().GetResponse().GetHeaderMutation().GetSetHeaders()
				want := []*corev3.HeaderValueOption{setHeader("x-g", value, (g+i)%2 == 1), setHeader("x-h", value+"!", (g+i)%2 == 0)}
				if len(set) != len(want) {
					errs <- fmt.Errorf("goroutine %d: %d headers, want %d", g, len(set), len(want))
					return
				}
				for j := range want {
					if !proto.Equal(set[j], want[j]) {
						errs <- fmt.Errorf("goroutine %d round %d: header %d is %v, want %v", g, i, j, set[j], want[j])
						return
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if appendFlags[0].GetValue() || !appendFlags[1].GetValue() {
		t.Fatal("a shared append flag changed")
	}
}
