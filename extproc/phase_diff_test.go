package extproc

import (
	"context"
	"math/rand/v2"
	"strings"
	"testing"

	"google.golang.org/grpc/metadata"

	"github.com/keygate/keygate/internal/routing"
)

// refStreamPhase is streamPhase as it was before the seventh performance round.
func refStreamPhase(ctx context.Context) (upstream, ingress bool) {
	md, _ := metadata.FromIncomingContext(ctx)
	for _, v := range md.Get(routing.PhaseMetadata) {
		switch v {
		case routing.UpstreamPhase:
			upstream = true
		case routing.IngressPhase:
			ingress = true
		}
	}
	return upstream, ingress
}

// TestStreamPhaseMatchesReference: the phase read from the one key is the phase read from the
// whole metadata's copy, whatever else the metadata holds, the key in any case (gRPC's
// transport lower-cases keys, so a key is present once), any values, in any order.
func TestStreamPhaseMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(18, 9))
	values := []string{routing.UpstreamPhase, routing.IngressPhase, "", "Upstream", "INGRESS", "downstream", " upstream", "upstream,ingress"}
	keys := []string{routing.PhaseMetadata, strings.ToUpper(routing.PhaseMetadata), "X-Keygate-Phase", "x-keygate-phase ", "x-keygate-phases", "x-keygate"}
	check := func(ctx context.Context) {
		t.Helper()
		gu, gi := streamPhase(ctx)
		wu, wi := refStreamPhase(ctx)
		if gu != wu || gi != wi {
			md, _ := metadata.FromIncomingContext(ctx)
			t.Fatalf("metadata %v: phase (upstream %v, ingress %v), reference (%v, %v)", md, gu, gi, wu, wi)
		}
	}
	check(context.Background())
	check(metadata.NewIncomingContext(context.Background(), nil))
	for range 5000 {
		md := metadata.MD{":authority": {"keygate"}, "user-agent": {"envoy"}, "x-request-id": {"r"}}
		for _, i := range r.Perm(len(keys))[:r.IntN(3)] {
			var vals []string
			for range r.IntN(4) {
				vals = append(vals, values[r.IntN(len(values))])
			}
			if strings.EqualFold(keys[i], routing.PhaseMetadata) { // one spelling, as gRPC's transport delivers it
				for k := range md {
					if strings.EqualFold(k, routing.PhaseMetadata) {
						delete(md, k)
					}
				}
			}
			md[keys[i]] = vals
		}
		check(metadata.NewIncomingContext(context.Background(), md))
	}
}

// BenchmarkStreamPhase reads the phase of a downstream stream whose metadata is what Envoy's
// gRPC client sends (the benchmarks of Process run without metadata).
func BenchmarkStreamPhase(b *testing.B) {
	ctx := metadata.NewIncomingContext(context.Background(), metadata.MD{
		":authority": {"keygate"}, "user-agent": {"envoy/1.36"}, "x-envoy-internal": {"true"},
		"x-forwarded-proto": {"http"}, "x-request-id": {"4c2f3a"}, "x-envoy-expected-rq-timeout-ms": {"10000"},
	})
	b.ReportAllocs()
	for b.Loop() {
		streamPhase(ctx)
	}
}

func BenchmarkRefStreamPhase(b *testing.B) {
	ctx := metadata.NewIncomingContext(context.Background(), metadata.MD{
		":authority": {"keygate"}, "user-agent": {"envoy/1.36"}, "x-envoy-internal": {"true"},
		"x-forwarded-proto": {"http"}, "x-request-id": {"4c2f3a"}, "x-envoy-expected-rq-timeout-ms": {"10000"},
	})
	b.ReportAllocs()
	for b.Loop() {
		refStreamPhase(ctx)
	}
}
