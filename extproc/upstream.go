package extproc

import (
	"bytes"
	"context"
	"fmt"
	"strconv"

	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"google.golang.org/grpc/metadata"

	"github.com/keygate/keygate/internal/failure"
	"github.com/keygate/keygate/internal/gateway"
	"github.com/keygate/keygate/internal/routing"
	"github.com/keygate/keygate/internal/tenancy"
)

// The upstream phase (docs/envoy-ext-proc.md section 11): keygate's ext_proc as an upstream
// HTTP filter of a signed cluster, one stream per router attempt. It signs the attempt for the
// provider whose cluster the attempt runs in, and drops a rejected token so that the router's
// retry is signed with a fresh one.
//
// Envoy ignores an immediate response from an upstream filter, and continues an attempt
// unmodified when the stream closes cleanly. So every failure here ends the stream with a
// non-OK status (handle's error): the filter then stops the attempt, nothing reaches the
// provider, and the route timeout answers the caller. The downstream phase has already
// answered the common failures (gateway.Call.Precheck).

// streamPhase reports whether Envoy opened this stream for a signed cluster's upstream
// filter, or for the ingress listener's filter: the gRPC initial metadata xds puts in that
// filter's grpc_service (a caller cannot set it; xds gives each filter one phase at most).
func streamPhase(ctx context.Context) (upstream, ingress bool) {
	// The one key's values: metadata.FromIncomingContext would copy every key and value Envoy
	// sent, on every stream.
	for _, v := range metadata.ValueFromIncomingContext(ctx, routing.PhaseMetadata) {
		switch v {
		case routing.UpstreamPhase:
			upstream = true
		case routing.IngressPhase:
			ingress = true
		}
	}
	return upstream, ingress
}

// handleUpstream answers one message of an upstream stream; every error fails the attempt.
func (p *processor) handleUpstream(msg *extprocv3.ProcessingRequest) (*extprocv3.ProcessingResponse, error) {
	switch m := msg.Request.(type) {
	case *extprocv3.ProcessingRequest_RequestHeaders:
		if p.call != nil {
			return nil, fmt.Errorf("a second request_headers on one stream")
		}
		if !p.trustPeer {
			// The upstream phase signs as the provider's tenant without a caller credential:
			// only Envoy (mTLS or loopback) may ask for it.
			return nil, p.upstreamFailed(failure.New(failure.Forbidden, "tenant", "an upstream-phase stream from an untrusted peer"))
		}
		if s := p.opts.Snapshots; s != nil && s.Load() != nil {
			p.snap = s.Load()
		}
		return p.upstreamHeaders(msg, m.RequestHeaders)
	case *extprocv3.ProcessingRequest_RequestBody:
		if p.call == nil {
			return nil, fmt.Errorf("request body before request headers")
		}
		if p.signed {
			return nil, fmt.Errorf("request body after the attempt was signed")
		}
		return p.upstreamBody(m.RequestBody)
	case *extprocv3.ProcessingRequest_RequestTrailers:
		if p.call == nil || !p.signed {
			// Trailers and no body (Filter::onTrailers): the attempt was not signed.
			return nil, p.upstreamFailed(failure.New(failure.BadRequest, "sign", "request trailers arrived before a request body: keygate cannot sign an attempt with trailers and no body"))
		}
		// As for headers (BeginUpstream): the downstream phase removes keygate's trailers.
		for _, f := range newHeaderSet(m.RequestTrailers.GetTrailers()).fields {
			if tenancy.IsKeygateHeader(f.Name) {
				return nil, p.upstreamFailed(failure.New(failure.Forbidden, "tenant", "trailer %q reached the upstream phase: the downstream phase did not run", f.Name))
			}
		}
		return &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_RequestTrailers{
			RequestTrailers: &extprocv3.TrailersResponse{}}}, nil
	case *extprocv3.ProcessingRequest_ResponseHeaders:
		if p.call == nil || !p.signed {
			return nil, fmt.Errorf("response headers for an attempt keygate did not sign")
		}
		status, _ := strconv.Atoi(newHeaderSet(m.ResponseHeaders.GetHeaders()).get(":status"))
		// CONTINUE either way: on a retry_on status the router retries (retriable-status-codes),
		// and the next attempt's stream fetches a fresh token.
		p.call.AttemptRejected(p.ctx, status)
		return &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_ResponseHeaders{
			ResponseHeaders: &extprocv3.HeadersResponse{}}}, nil
	case *extprocv3.ProcessingRequest_ResponseBody:
		return &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_ResponseBody{
			ResponseBody: &extprocv3.BodyResponse{}}}, nil
	case *extprocv3.ProcessingRequest_ResponseTrailers:
		return &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_ResponseTrailers{
			ResponseTrailers: &extprocv3.TrailersResponse{}}}, nil
	}
	return nil, fmt.Errorf("processing request of unknown type %T", msg.Request)
}

func (p *processor) upstreamHeaders(msg *extprocv3.ProcessingRequest, h *extprocv3.HttpHeaders) (*extprocv3.ProcessingResponse, error) {
	cluster := clusterName(msg)
	name, ok := routing.SignedProviderOf(cluster)
	if !ok {
		return nil, p.upstreamFailed(failure.New(failure.Internal, "identify", "an upstream-phase stream for cluster %q, which is not a signed cluster (is xds.cluster_name in the upstream filter's request_attributes?)", cluster))
	}
	prov, ok := p.snap.ProviderByName(name)
	if !ok {
		return nil, p.upstreamFailed(failure.New(failure.NotFound, "identify", "signed cluster %q names no configured provider", cluster))
	}
	p.inbound = newHeaderSet(h.GetHeaders())
	size := int64(-1)
	if cl, err := strconv.ParseInt(p.inbound.get("content-length"), 10, 64); err == nil {
		size = cl
	}
	call, err := p.snap.BeginUpstream(prov, gateway.Attempt{
		Method: p.inbound.get(":method"), Authority: p.inbound.get(":authority"), Path: p.inbound.get(":path"),
		Header: p.inbound.view(), BodySize: size,
	}, p.opts.Clock)
	if err != nil {
		return nil, p.upstreamFailed(err)
	}
	p.call = call
	if !h.EndOfStream {
		// The attempt's body is signed over, so it counts against the memory budget as it
		// does downstream (budget.go): refused before Envoy sends it when it does not fit.
		if err := p.reserveBody(size, &p.reqHeld); err != nil {
			return nil, p.upstreamFailed(err)
		}
		// BUFFERED: Envoy holds the headers until the body response, which carries the
		// signature with the body.
		return &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_RequestHeaders{
			RequestHeaders: &extprocv3.HeadersResponse{}}}, nil
	}
	if err := call.SignAttempt(p.ctx, nil); err != nil {
		return nil, p.upstreamFailed(err)
	}
	p.signed = true
	a := new(answer)
	return a.requestHeaders(p.requestMutation(a, nil, false), nil), nil
}

func (p *processor) upstreamBody(b *extprocv3.HttpBody) (*extprocv3.ProcessingResponse, error) {
	if err := p.reserveBody(int64(len(b.GetBody())), &p.reqHeld); err != nil {
		return nil, p.upstreamFailed(err)
	}
	if err := p.call.SignAttempt(p.ctx, b.GetBody()); err != nil {
		return nil, p.upstreamFailed(err)
	}
	p.signed = true
	defer p.keepOnly(int64(len(b.GetBody())), &p.reqHeld) // once the answer is built
	body := p.call.Exchange.Request.Body()
	changed := !bytes.Equal(body, b.GetBody())
	a := new(answer)
	return a.requestBody(p.requestMutation(a, body, changed)), nil
}

// upstreamFailed logs why an attempt was stopped and returns the error that ends the stream.
// The request's outcome is observed once, by the downstream phase.
func (p *processor) upstreamFailed(err error) error {
	o := Outcome{Phase: "upstream", Err: err, Status: failure.Status(err), Stage: failure.StageOf(err)}
	if c := p.call; c != nil {
		o.Tenant, o.Provider = c.Exchange.Tenant, c.Provider.Name
	}
	p.opts.Logger.LogAttrs(p.ctx, levelFor(o.Status), "upstream attempt stopped: nothing was sent", logAttrs(o)...)
	return fmt.Errorf("upstream phase: %w", err)
}
