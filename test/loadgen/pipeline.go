package main

import (
	"context"
	"fmt"
	"net/http"
	"runtime"

	"github.com/keygate/keygate/internal/gateway"
	"github.com/keygate/keygate/signer"
)

// pipelineAllocs measures keygate's own allocations per request, without gRPC or the driver:
// Begin, SignRequest and ProcessResponse in this goroutine, n times, with the servers idle.
func pipelineAllocs(snap *gateway.Snapshot, ex *exchange, n int) (float64, error) {
	ctx := context.Background()
	clock := signer.SystemClock()
	one := func() error {
		call, err := snap.Begin(gateway.Inbound{
			Method: "POST", Authority: ex.authority, Route: ex.route, SPIFFEID: ex.spiffeID, Path: ex.path, BodySize: int64(len(ex.reqBody)),
			Header: http.Header{"Content-Type": {ex.contentType}, "Accept": {"application/json"}, "X-Request-Id": {"r"}},
		}, clock)
		if err != nil {
			return err
		}
		var body []byte
		if call.Provider.Needs.RequestBody {
			body = ex.reqBody
		}
		if err := call.SignRequest(ctx, body); err != nil {
			return err
		}
		resp := &signer.Response{Status: 200, Header: http.Header{"Content-Type": {"application/json"}}}
		if call.WantsResponseBody() {
			resp.Body = ex.respBody
		}
		return call.ProcessResponse(ctx, resp)
	}
	if err := one(); err != nil { // warm: runtimes pooled, keys cached
		return 0, fmt.Errorf("pipeline: %w", err)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for range n {
		if err := one(); err != nil {
			return 0, fmt.Errorf("pipeline: %w", err)
		}
	}
	runtime.ReadMemStats(&after)
	return float64(after.Mallocs-before.Mallocs) / float64(n), nil
}
