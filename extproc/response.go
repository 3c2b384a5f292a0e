package extproc

import (
	"strconv"
	"time"

	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/keygate/keygate/internal/failure"
	"github.com/keygate/keygate/signer"
)

// The response phase of a downstream stream: the provider's answer read (headers, body),
// processed by the response steps, or the token refused and the request retried once.

// unsignedAnswer refuses the response phase of a request that was never signed. Envoy's own
// local replies (413 buffer limit, 503, 504) pass through response_headers too and keep their
// status; anything else is withheld as a bad gateway.
func (p *processor) unsignedAnswer(h *extprocv3.HttpHeaders) *extprocv3.ProcessingResponse {
	status, _ := strconv.Atoi(newHeaderSet(h.GetHeaders()).get(":status"))
	kind, ok := unsignedKinds[status]
	if !ok {
		kind = failure.BadGateway
	}
	err := failure.New(kind, "sign", "the request was not signed (Envoy answered %d before keygate saw its body); the answer is withheld", status)
	p.observe("response", time.Now(), err)
	return p.fail(err)
}

// retryTokenAllowance is what the retry's token fetch may take on top of the provider call
// (config.DefaultTokenTimeout, plus a second for the re-signing).
const retryTokenAllowance = 6 * time.Second

var unsignedKinds = map[int]failure.Kind{
	413: failure.TooLarge, 503: failure.Unavailable, 504: failure.Timeout, 400: failure.BadRequest,
}

func (p *processor) responseHeaders(h *extprocv3.HttpHeaders) *extprocv3.ProcessingResponse {
	p.respHdrs = newHeaderSet(h.GetHeaders())
	if status, _ := strconv.Atoi(p.respHdrs.get(":status")); p.call.ShouldRetry(status) {
		return p.retry()
	}
	if !h.EndOfStream && p.call.WantsResponseBody() {
		return continueResponseHeaders
	}
	start := time.Now()
	if err := p.call.ProcessResponse(p.ctx, p.response(nil)); err != nil {
		p.observe("response", start, err)
		return p.fail(err)
	}
	p.answered = true
	p.observe("response", start, nil)
	a := new(answer)
	cr, mut := a.mutation(nil, false)
	diffHeadersInto(mut, p.respHdrs, p.call.Exchange.Response.Header)
	return a.responseHeaders(cr)
}

func (p *processor) responseBody(b *extprocv3.HttpBody) *extprocv3.ProcessingResponse {
	if p.respHdrs == nil {
		p.respHdrs = newHeaderSet(nil)
	}
	start := time.Now()
	if err := p.reserveBody(int64(len(b.GetBody())), &p.respHeld); err != nil {
		p.observe("response", start, err)
		return p.fail(err)
	}
	resp := p.response(b.GetBody())
	if err := p.call.ProcessResponse(p.ctx, resp); err != nil {
		p.observe("response", start, err)
		return p.fail(err)
	}
	p.answered = true
	p.observe("response", start, nil)
	a := new(answer)
	cr, mut := a.mutation(resp.Body, true)
	diffHeadersInto(mut, p.respHdrs, resp.Header)
	addSet(mut, setHeader("content-length", strconv.Itoa(len(resp.Body)), false))
	return a.responseBody(cr)
}

// retry is two-step verification's one retry: the provider rejected the token, so keygate
// re-signs with a fresh one and sends the request itself; the caller gets that answer.
func (p *processor) retry() *extprocv3.ProcessingResponse {
	if p.send != nil {
		// The retry fetches a token and calls the provider inside this one message: ask Envoy
		// to wait that long (Filter::onNewTimeout; honoured up to max_message_timeout, which
		// xds sets to MaxMessageTimeout).
		wait := min(p.call.Provider.Timeout+retryTokenAllowance, p.opts.MaxMessageTimeout)
		if err := p.send.Send(&extprocv3.ProcessingResponse{OverrideMessageTimeout: durationpb.New(wait)}); err != nil {
			return p.fail(failure.Wrap(failure.Unavailable, "retry", err, "extending Envoy's message timeout"))
		}
	}
	start := time.Now()
	resp, err := p.call.Retry(p.ctx, p.opts.RetryClient, p.opts.Clock)
	if err == nil {
		// The answer keygate read is handed back in the immediate response: it counts like
		// any response body.
		err = p.reserveBody(int64(len(resp.Body)), &p.respHeld)
	}
	p.observe("response", start, err)
	if err != nil {
		return p.fail(err)
	}
	p.done = true
	return immediateAnswer(resp)
}

func (p *processor) response(body []byte) *signer.Response {
	status, _ := strconv.Atoi(p.respHdrs.get(":status"))
	return &signer.Response{Status: status, Header: p.respHdrs.httpHeader(), Body: body}
}
