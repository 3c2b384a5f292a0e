package extproc

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"

	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/internal/gateway"
	"github.com/keygate/keygate/internal/routing"
	"github.com/keygate/keygate/signer"
)

// headersWithLength is request_headers for body.local declaring a body of n bytes (n < 0: no
// content-length, as a chunked request).
func headersWithLength(n int) *extprocv3.ProcessingRequest {
	msg := headersMsg("body.local", false)
	if n >= 0 {
		hs := msg.GetRequestHeaders().GetHeaders()
		hs.Headers = append(hs.Headers, &corev3.HeaderValue{Key: "content-length", RawValue: []byte(strconv.Itoa(n))})
	}
	return msg
}

func bodyOf(n int) *extprocv3.ProcessingRequest {
	return &extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_RequestBody{
		RequestBody: &extprocv3.HttpBody{Body: []byte(strings.Repeat("b", n)), EndOfStream: true}}}
}

// wantRefused checks a 503 that names the budget and its config key.
func wantRefused(t *testing.T, resp *extprocv3.ProcessingResponse, err error, what string) {
	t.Helper()
	ir := resp.GetImmediateResponse()
	if err != nil || ir == nil || ir.GetStatus().GetCode() != 503 ||
		!strings.Contains(string(ir.GetBody()), "memory budget") || !strings.Contains(string(ir.GetBody()), "limits.ext_proc_memory_bytes") {
		t.Fatalf("%s: got %v (err %v), want a 503 naming the memory budget", what, resp, err)
	}
}

func wantServed(t *testing.T, resp *extprocv3.ProcessingResponse, err error, what string) {
	t.Helper()
	if err != nil || resp.GetImmediateResponse() != nil {
		t.Fatalf("%s: got %v (err %v), want it processed", what, resp, err)
	}
}

// TestMemoryBudgetRefusesWhatDoesNotFit: with room for one 1000-byte body, a second request
// declaring one is refused before Envoy sends it; a body larger than declared (or undeclared)
// reserves the difference when it arrives; a stream's reservation is given back when it ends.
func TestMemoryBudgetRefusesWhatDoesNotFit(t *testing.T) {
	b := &budget{}
	b.limit.Store(bodyCost * 1000)
	var refused countingInt
	open := func() *processor {
		p := testProcessor(t)
		p.budget, p.refused = b, &refused.v
		return p
	}
	first := open()
	resp, err := first.handle(headersWithLength(1000))
	wantServed(t, resp, err, "the first request's headers")
	second := open()
	resp, err = second.handle(headersWithLength(1000))
	wantRefused(t, resp, err, "a second 1000-byte body while the first is held")
	if refused.v.Load() != 1 || b.used.Load() != bodyCost*1000 {
		t.Fatalf("refused %d, used %d", refused.v.Load(), b.used.Load())
	}
	resp, err = first.handle(bodyOf(1000))
	wantServed(t, resp, err, "the first request's body, as declared")
	// Answered, the body is held once: the signed body in the answer gRPC is sending (this
	// provider has no token source, so no copy is kept for a retry).
	sent := int64(len(resp.GetRequestBody().GetResponse().GetBodyMutation().GetBody()))
	if sent == 0 || b.used.Load() != sent {
		t.Fatalf("an answered request body holds %d bytes, want the %d of the answer being sent", b.used.Load(), sent)
	}
	// Attack: a client that sends the response without reading the answer (gRPC may still
	// hold it) does not free the answer's share: it stays counted until the stream ends.
	resp, err = first.handle(&extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_ResponseHeaders{
		ResponseHeaders: &extprocv3.HttpHeaders{Headers: &corev3.HeaderMap{Headers: []*corev3.HeaderValue{
			{Key: ":status", RawValue: []byte("200")}}}}}})
	wantServed(t, resp, err, "the first request's response headers")
	if b.used.Load() != sent {
		t.Fatalf("in the response phase the request holds %d bytes, want the answer's %d until the stream ends", b.used.Load(), sent)
	}
	first.releaseBodies()
	if b.used.Load() != 0 {
		t.Fatalf("after the first stream ended %d bytes are still reserved", b.used.Load())
	}

	// Declared small, sent large: the body reserves the rest when it arrives.
	liar := open()
	resp, err = liar.handle(headersWithLength(10))
	wantServed(t, resp, err, "headers declaring 10 bytes")
	resp, err = liar.handle(bodyOf(1001))
	wantRefused(t, resp, err, "a 1001-byte body after declaring 10")
	liar.releaseBodies()

	// No content-length (chunked): reserved when the body arrives.
	chunked := open()
	resp, err = chunked.handle(headersWithLength(-1))
	wantServed(t, resp, err, "headers without content-length")
	resp, err = chunked.handle(bodyOf(999))
	wantServed(t, resp, err, "a 999-byte body that fits")
	if sent := int64(len(resp.GetRequestBody().GetResponse().GetBodyMutation().GetBody())); b.used.Load() != sent {
		t.Fatalf("used %d, want the %d bytes of the answer", b.used.Load(), sent)
	}
	chunked.releaseBodies()
	if b.used.Load() != 0 {
		t.Fatalf("%d bytes still reserved", b.used.Load())
	}
}

type countingInt struct{ v atomic.Int64 }

// TestMemoryBudgetOverGRPC: through the server, a stream holding the budget makes the next
// stream's request fail with 503; once it ends, a new stream is served. No timing involved.
func TestMemoryBudgetOverGRPC(t *testing.T) {
	srv, client := serveTest(t, Options{MemoryBudget: bodyCost * 1000})
	ctx := context.Background()
	holder, err := client.Process(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := holder.Send(headersWithLength(1000)); err != nil {
		t.Fatal(err)
	}
	resp, err := holder.Recv()
	wantServed(t, resp, err, "the holder's headers")
	if srv.InFlightBytes() != bodyCost*1000 {
		t.Fatalf("in flight %d", srv.InFlightBytes())
	}
	other, err := client.Process(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := other.Send(headersWithLength(1000)); err != nil {
		t.Fatal(err)
	}
	resp, err = other.Recv()
	wantRefused(t, resp, err, "a second stream over the budget")
	if srv.Refused() != 1 {
		t.Fatalf("Refused() = %d", srv.Refused())
	}
	_ = other.CloseSend()
	if err := holder.CloseSend(); err != nil {
		t.Fatal(err)
	}
	if _, err := holder.Recv(); err != io.EOF {
		t.Fatalf("holder's end: %v", err)
	}
	if srv.InFlightBytes() != 0 {
		t.Fatalf("the ended stream still holds %d bytes", srv.InFlightBytes())
	}
	next, err := client.Process(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := next.Send(headersWithLength(1000)); err != nil {
		t.Fatal(err)
	}
	resp, err = next.Recv()
	wantServed(t, resp, err, "a new stream after the holder ended")
	_ = next.CloseSend()
}

// TestMemoryBudgetCoversTheUpstreamPhase: a signed cluster's upstream filter sends each
// attempt's body to keygate, which signs over it: the budget holds there as downstream (a
// declared body is refused before it is sent, an undeclared one when it arrives), the refusal
// ends the stream non-OK (the attempt never leaves), and the stream's end gives all back.
func TestMemoryBudgetCoversTheUpstreamPhase(t *testing.T) {
	b := &budget{}
	b.limit.Store(bodyCost * 1000)
	var refused countingInt
	open := func() *processor {
		p, _ := upstreamProcessor(t, &fakeTokens{})
		p.budget, p.refused = b, &refused.v
		return p
	}
	cluster := routing.SignedCluster("pay")
	hold := open()
	if _, err := hold.handle(attemptMsg(cluster, "/api/pay", false, "content-length", "1000")); err != nil {
		t.Fatal(err)
	}
	if b.used.Load() != bodyCost*1000 {
		t.Fatalf("an upstream attempt declaring 1000 bytes reserved %d", b.used.Load())
	}
	declared := open()
	if _, err := declared.handle(attemptMsg(cluster, "/api/pay", false, "content-length", "1000")); err == nil || !strings.Contains(err.Error(), "memory budget") {
		t.Fatalf("a second declared body while the first is held: %v, want the budget's refusal", err)
	}
	declared.releaseBodies()
	undeclared := open()
	if _, err := undeclared.handle(attemptMsg(cluster, "/api/pay", false)); err != nil {
		t.Fatal(err)
	}
	if _, err := undeclared.handle(bodyMsg(strings.Repeat("b", 1000))); err == nil || !strings.Contains(err.Error(), "memory budget") {
		t.Fatalf("an undeclared body over the budget: %v, want the budget's refusal", err)
	}
	undeclared.releaseBodies()
	if _, err := hold.handle(bodyMsg(strings.Repeat("b", 1000))); err != nil {
		t.Fatal(err)
	}
	hold.releaseBodies()
	if b.used.Load() != 0 || refused.v.Load() != 2 {
		t.Fatalf("after every stream ended: used %d (want 0), refused %d (want 2)", b.used.Load(), refused.v.Load())
	}
}

// TestMemoryBudgetCoversTheRetriedAnswer: two-step verification's retry reads the provider's
// answer into keygate (up to limits.max_body_bytes) and hands it back in an immediate response:
// that body counts like any response body, and one that does not fit is refused with 503.
func TestMemoryBudgetCoversTheRetriedAnswer(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, strings.Repeat("r", 1000))
	}))
	defer up.Close()
	f := mustParse(t, `providers:
  - {name: tok, hosts: [tok.local], upstream: {url: "`+up.URL+`"}, token: {type: oauth2_client_credentials, url: "`+up.URL+`/token"}, signing: [{scheme: header}]}
`)
	c := &gateway.Compiler{
		Catalog: signer.Catalog{"header": func(signer.Build) (signer.Step, error) { return headerStep{}, nil }},
		Tokens: func(string, string, *config.TokenSource, signer.Keys, map[string]string) (signer.TokenSource, error) {
			return stubTokens{}, nil
		},
	}
	snap, err := c.Compile(f, gateway.Meta{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		limit   int64
		refused bool
	}{{bodyCost*1000 - 1, true}, {bodyCost * 1000, false}} {
		b := &budget{}
		b.limit.Store(tc.limit)
		var refused countingInt
		p := newProcessor(context.Background(), snap, Options{RetryClient: up.Client()}.withDefaults())
		p.budget, p.refused = b, &refused.v
		if resp, err := p.handle(headersMsg("tok.local", true)); err != nil || resp.GetImmediateResponse() != nil {
			t.Fatalf("headers: %v %v", resp, err)
		}
		resp := p.retry()
		if tc.refused {
			wantRefused(t, resp, nil, "a retried answer over the budget")
		} else if ir := resp.GetImmediateResponse(); ir == nil || ir.GetStatus().GetCode() != 200 || len(ir.GetBody()) != 1000 {
			t.Fatalf("a retried answer within the budget: %v", resp)
		}
		p.releaseBodies()
		if b.used.Load() != 0 {
			t.Fatalf("after the stream ended %d bytes are still reserved", b.used.Load())
		}
	}
}

// TestMemoryBudgetReleasedOnEveryEnd: a stream that reserved for a declared body and then ends
// any way but cleanly (a protocol error, Envoy cancelling mid-request, a second request on the
// stream, the upstream phase stopping an attempt) gives its reservation back; otherwise a
// few such streams would leave keygate answering 503 for good.
func TestMemoryBudgetReleasedOnEveryEnd(t *testing.T) {
	srv, client := serveTest(t, Options{MemoryBudget: bodyCost * 1000})
	for name, end := range map[string]func(extprocv3.ExternalProcessor_ProcessClient, context.CancelFunc){
		"a second request_headers (protocol error)": func(s extprocv3.ExternalProcessor_ProcessClient, _ context.CancelFunc) {
			_ = s.Send(headersWithLength(10))
			_, _ = s.Recv()
		},
		"a body over the reservation, refused": func(s extprocv3.ExternalProcessor_ProcessClient, _ context.CancelFunc) {
			_ = s.Send(bodyOf(5000))
			_, _ = s.Recv()
			_ = s.CloseSend()
			_, _ = s.Recv()
		},
		"Envoy cancels mid-request": func(_ extprocv3.ExternalProcessor_ProcessClient, cancel context.CancelFunc) {
			cancel()
		},
		"a message after the stream's end": func(s extprocv3.ExternalProcessor_ProcessClient, _ context.CancelFunc) {
			_ = s.Send(&extprocv3.ProcessingRequest{})
			_, _ = s.Recv()
		},
	} {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			s, err := client.Process(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Send(headersWithLength(1000)); err != nil {
				t.Fatal(err)
			}
			resp, err := s.Recv()
			wantServed(t, resp, err, "the declared body's headers")
			end(s, cancel)
			if err := srv.Wait(context.Background()); err != nil {
				t.Fatal(err)
			}
			if n := srv.InFlightBytes(); n != 0 {
				t.Fatalf("the ended stream still holds %d bytes", n)
			}
		})
	}
}
