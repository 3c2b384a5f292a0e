package extproc

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"

	"github.com/keygate/keygate/internal/failure"
	"github.com/keygate/keygate/internal/gateway"
	"github.com/keygate/keygate/internal/routing"
	"github.com/keygate/keygate/internal/tenancy"
	"github.com/keygate/keygate/signer"
)

// processor is the state of one stream: which phase the request is in and the gateway call.
// Envoy sends at most one message at a time in BUFFERED mode, so it needs no locking.
type processor struct {
	ctx  context.Context
	snap *gateway.Snapshot
	opts Options

	// send, when set, sends a message on the stream ahead of the answer (the retry's
	// override_message_timeout); the Process loop sets it to the stream (a method value
	// would be an allocation per stream).
	send sender
	// trustPeer: the stream comes from an authenticated Envoy (mTLS) or from loopback, so the
	// identity attributes it sends (the caller's SPIFFE ID) are Envoy's, not a client's claim.
	trustPeer bool
	// upstream: Envoy opened this stream for a signed cluster's upstream filter (upstream.go);
	// ingress: for the ingress listener's filter (a provider's callback). Both from the
	// stream's gRPC metadata (streamPhase).
	upstream, ingress bool
	call              *gateway.Call
	inbound           *headerSet // request headers as Envoy sent them
	signed            bool       // the request was signed (in the headers or the body phase)
	done              bool       // an ImmediateResponse was sent: Envoy sends nothing more
	respHdrs          *headerSet
	// answered: the response steps ran over the provider's answer (headers or body phase).
	answered bool

	// budget is the server's memory budget for bodies (nil: none); reqHeld and respHeld are
	// what this stream reserved from it for each direction (budget.go).
	budget            *budget
	refused           *atomic.Int64
	reqHeld, respHeld int64
	refusal           func(error) *signer.Response // a callback provider's failure answer (callback.go)
}

// sender sends a message on the stream (the gRPC stream, or a test's function).
type sender interface {
	Send(*extprocv3.ProcessingResponse) error
}

// sendFunc is a function as a sender.
type sendFunc func(*extprocv3.ProcessingResponse) error

func (f sendFunc) Send(r *extprocv3.ProcessingResponse) error { return f(r) }

func newProcessor(ctx context.Context, snap *gateway.Snapshot, opts Options) *processor {
	return &processor{ctx: ctx, snap: snap, opts: opts, trustPeer: true}
}

// handle answers one message. An error means the message breaks the protocol (Envoy would
// not send it); the stream then ends with a non-OK status, which fails the request closed.
func (p *processor) handle(msg *extprocv3.ProcessingRequest) (*extprocv3.ProcessingResponse, error) {
	if p.done {
		return nil, fmt.Errorf("message after an immediate response")
	}
	if p.upstream {
		return p.handleUpstream(msg)
	}
	switch m := msg.Request.(type) {
	case *extprocv3.ProcessingRequest_RequestHeaders:
		if p.call != nil || p.inbound != nil {
			// Envoy opens one stream per request: a second request on a stream is a client
			// replaying headers, never Envoy.
			return nil, fmt.Errorf("a second request_headers on one stream")
		}
		if s := p.opts.Snapshots; s != nil && s.Load() != nil {
			p.snap = s.Load() // the config running when the request arrives, not when the stream opened
		}
		return p.requestHeaders(msg, m.RequestHeaders), nil
	case *extprocv3.ProcessingRequest_RequestBody:
		if p.call == nil {
			return nil, fmt.Errorf("request body before request headers")
		}
		return p.requestBody(m.RequestBody), nil
	case *extprocv3.ProcessingRequest_RequestTrailers:
		if p.call == nil {
			return nil, fmt.Errorf("request trailers before request headers")
		}
		if !p.signed {
			return p.unsigned("request trailers arrived before a request body: keygate cannot sign a request with trailers and no body"), nil
		}
		// keygate's headers do not leave as trailers either.
		trailers := newHeaderSet(m.RequestTrailers.GetTrailers())
		return &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_RequestTrailers{
			RequestTrailers: &extprocv3.TrailersResponse{HeaderMutation: keygateRemovals(trailers)}}}, nil
	case *extprocv3.ProcessingRequest_ResponseHeaders:
		if p.call == nil && p.inbound == nil {
			// Envoy's own local reply to a request its connection manager refused before the
			// filter chain decoded it (a path normalization failure: 400): nothing was signed or
			// sent, and the caller gets the status Envoy chose.
			return p.unsignedAnswer(m.ResponseHeaders), nil
		}
		if !p.signed {
			return p.unsignedAnswer(m.ResponseHeaders), nil
		}
		return p.responseHeaders(m.ResponseHeaders), nil
	case *extprocv3.ProcessingRequest_ResponseBody:
		if p.call == nil {
			return nil, fmt.Errorf("response body before request headers")
		}
		if !p.signed {
			return p.unsigned("the response body arrived for a request keygate did not sign"), nil
		}
		return p.responseBody(m.ResponseBody), nil
	case *extprocv3.ProcessingRequest_ResponseTrailers:
		if p.call != nil && p.respHdrs != nil && !p.answered {
			// HEADERS then trailers and no DATA (Filter::onTrailers sends no body message): the
			// answer was never verified or decrypted, and must not reach the caller as it came.
			err := failure.New(failure.BadGateway, "response", "the provider's answer ended with trailers and no body: keygate could not process it; the answer is withheld")
			p.observe("response", time.Now(), err)
			return p.fail(err), nil
		}
		return &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_ResponseTrailers{
			ResponseTrailers: &extprocv3.TrailersResponse{}}}, nil
	}
	return nil, fmt.Errorf("processing request of unknown type %T", msg.Request)
}

func (p *processor) requestHeaders(msg *extprocv3.ProcessingRequest, h *extprocv3.HttpHeaders) *extprocv3.ProcessingResponse {
	start := time.Now()
	p.inbound = newHeaderSet(h.GetHeaders())
	bodySize := int64(-1)
	if cl, err := strconv.ParseInt(p.inbound.get("content-length"), 10, 64); err == nil {
		bodySize = cl
	}
	call, err := p.snap.Begin(gateway.Inbound{
		Method:    p.inbound.get(":method"),
		Authority: p.inbound.get(":authority"),
		Route:     routeName(msg),
		Ingress:   p.ingress,
		Path:      p.inbound.get(":path"),
		Fields:    p.inbound.fields,
		SPIFFEID:  p.spiffeID(msg),
		BodySize:  bodySize,
	}, p.opts.Clock)
	if err != nil {
		p.observe("request", start, err)
		p.refusal = p.callbackRefusal(msg) // a callback refused before its call began
		return p.fail(err)
	}
	p.call = call
	if _, signed := routing.SignedProviderOf(clusterName(msg)); signed {
		return p.deferSigning(clusterName(msg), start)
	}
	if !h.EndOfStream && p.needsRequestBody() && bodySize > 0 {
		// Envoy will send this many bytes: refuse now, before it does, if they do not fit.
		if err := p.reserveBody(bodySize, &p.reqHeld); err != nil {
			p.observe("request", start, err)
			return p.fail(err)
		}
	}
	if h.EndOfStream || !p.needsRequestBody() {
		// No body, or none needed: sign now and tell Envoy not to send the request body.
		if err := call.SignRequest(p.ctx, nil); err != nil {
			p.observe("request", start, err)
			return p.fail(err)
		}
		p.signed = true
		p.observe("request", start, nil)
		a := new(answer)
		return a.requestHeaders(p.requestMutation(a, nil, false), p.modeOverride(false))
	}
	// The body is needed: headers are changed together with the body, in the body response.
	// keygate's own headers (the tenant key) are removed now: should Envoy continue without a
	// body message (a request with trailers and no DATA, spec section 9), they must not leave.
	if strip := p.stripKeygateHeaders(); strip != nil {
		return &extprocv3.ProcessingResponse{
			Response: &extprocv3.ProcessingResponse_RequestHeaders{RequestHeaders: &extprocv3.HeadersResponse{
				Response: strip}},
			ModeOverride: p.modeOverride(true),
		}
	}
	rb, rh, rsb := p.modeIndex(true)
	return continueRequestHeaders[rb][rh][rsb]
}

// deferSigning is the downstream phase of a request Envoy routes to a signed cluster: its
// upstream filter signs every attempt (upstream.go). Here the request is identified,
// authenticated and authorized (Begin), then what the signing needs is checked (secrets
// readable, a token obtainable) so that the common failures are answered now: upstream, Envoy
// ignores an immediate response. The mutation rewrites :path and :authority (once: each
// attempt starts from the router's headers) and removes keygate's headers; no signature. The
// request body is not needed here (the router keeps it for its retry), nor the trailers (the
// upstream phase refuses a request that has trailers and no body).
func (p *processor) deferSigning(cluster string, start time.Time) *extprocv3.ProcessingResponse {
	if err := p.call.DeferSigning(cluster); err != nil {
		p.observe("request", start, err)
		return p.fail(err)
	}
	if err := p.call.Precheck(p.ctx); err != nil {
		p.observe("request", start, err)
		return p.fail(err)
	}
	p.signed = true // nothing more to do for the request: its answer may be processed
	p.observe("request", start, nil)
	a := new(answer)
	return a.requestHeaders(p.requestMutation(a, nil, false), p.modeOverride(false))
}

// spiffeID is the caller's SPIFFE ID Envoy sent, when the stream is from a trusted peer.
func (p *processor) spiffeID(msg *extprocv3.ProcessingRequest) string {
	if !p.trustPeer {
		return ""
	}
	return spiffeID(msg)
}

// needsRequestBody reports whether keygate asks Envoy for the request body: a step reads or
// changes it, or the provider has a token source, whose one retry after a rejected token must
// resend the caller's body (with body mode NONE keygate would never have seen it).
func (p *processor) needsRequestBody() bool {
	return p.call.Provider.Needs.RequestBody || p.call.Provider.Tokens != nil
}

// stripKeygateHeaders removes every x-keygate-* header the caller sent, or is nil.
func (p *processor) stripKeygateHeaders() *extprocv3.CommonResponse {
	if mut := keygateRemovals(p.inbound); mut != nil {
		return &extprocv3.CommonResponse{HeaderMutation: mut}
	}
	return nil
}

// keygateRemovals is the mutation removing every x-keygate-* entry of hs, or nil.
func keygateRemovals(hs *headerSet) *extprocv3.HeaderMutation {
	var remove []string
	for _, f := range hs.fields {
		if tenancy.IsKeygateHeader(f.Name) {
			remove = append(remove, f.Name)
		}
	}
	if remove == nil {
		return nil
	}
	return &extprocv3.HeaderMutation{RemoveHeaders: remove}
}

// unsigned refuses a request that reached a phase it may not reach unsigned: a request keygate
// could not sign never leaves, and its answer is not handed back as if it had been signed.
func (p *processor) unsigned(why string) *extprocv3.ProcessingResponse {
	err := failure.New(failure.BadRequest, "sign", "%s", why)
	p.observe("request", time.Now(), err)
	return p.fail(err)
}

func (p *processor) requestBody(b *extprocv3.HttpBody) *extprocv3.ProcessingResponse {
	if p.signed {
		// Envoy sent a body we asked it not to (mode_override not allowed): leave it as is.
		return &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_RequestBody{
			RequestBody: &extprocv3.BodyResponse{}}}
	}
	start := time.Now()
	if err := p.reserveBody(int64(len(b.GetBody())), &p.reqHeld); err != nil {
		p.observe("request", start, err)
		return p.fail(err)
	}
	if err := p.call.SignRequest(p.ctx, b.GetBody()); err != nil {
		p.observe("request", start, err)
		return p.fail(err)
	}
	p.signed = true
	p.observe("request", start, nil)
	body := p.call.Exchange.Request.Body()
	// A body no step changed (a token provider keeps it only for the retry) is left as it is.
	changed := !bytes.Equal(body, b.GetBody())
	a := new(answer)
	resp := a.requestBody(p.requestMutation(a, body, changed))
	// From here the answer holds the signed body until gRPC has sent it, counted until the
	// stream ends: keygate does not learn when it left, and a client that sends the response
	// without reading the answer must not free its share. The call keeps only the caller's
	// body, and only for a token provider's retry.
	p.call.RequestSent()
	sending := int64(0)
	if changed {
		sending = int64(len(body))
	}
	p.keepOnly(sending+p.call.RequestBodySize(), &p.reqHeld)
	return resp
}

// requestMutation is the CommonResponse that turns the caller's request into the signed one,
// built in a.
func (p *processor) requestMutation(a *answer, body []byte, withBody bool) *extprocv3.CommonResponse {
	req := p.call.Exchange.Request
	// The route stays the one Envoy chose by the caller's alias (no clear_route_cache): the
	// rewritten :authority is the upstream host, which several providers may share, so it must
	// not take part in routing. The route's host_rewrite_literal sets the same host.
	cr, mut := a.mutation(body, withBody)
	diffRequest(mut, p.inbound, req)
	if withBody {
		// Envoy checks content-length against the new body (500 on mismatch): set it exactly.
		addSet(mut, setHeader("content-length", strconv.Itoa(len(body)), false))
	}
	return cr
}

// fail answers with keygate's error reply; Envoy sends nothing more on this stream.
func (p *processor) fail(err error) *extprocv3.ProcessingResponse {
	p.done = true
	if r := p.refuseCallback(err); r != nil {
		return r
	}
	return immediateError(err)
}

func (p *processor) observe(phase string, start time.Time, err error) {
	o := Outcome{Phase: phase, Err: err, Duration: time.Since(start)}
	if err != nil {
		o.Status, o.Stage = failure.Status(err), failure.StageOf(err)
	}
	if c := p.call; c != nil {
		o.Tenant, o.Provider, o.Schemes, o.KeysUsed = c.Exchange.Tenant, c.Provider.Name, c.Provider.Schemes, c.Exchange.Used
		o.Stages, c.Exchange.Timing = c.Exchange.Timing, signer.StageTimes{} // each phase reports its own
	}
	p.opts.Observer.Observe(o)
	if err != nil {
		p.opts.Logger.LogAttrs(p.ctx, levelFor(o.Status), "request failed closed",
			logAttrs(o)...)
	}
}
