package emu

import (
	"net/http"

	extprocv3cfg "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
)

// responseDue reports whether the encoder side will send anything to the processor.
func (x *exchange) responseDue() bool {
	return x.mode.GetResponseHeaderMode() != extprocv3cfg.ProcessingMode_SKIP ||
		x.mode.GetResponseBodyMode() != extprocv3cfg.ProcessingMode_NONE ||
		x.mode.GetResponseTrailerMode() == extprocv3cfg.ProcessingMode_SEND
}

// responsePath runs the encoder side of the filter on an upstream response or a local reply
// that passes through the filter chain. A non-nil localReply replaces the response directly.
func (x *exchange) responsePath(u *upstreamResponse) (*message, *localReply) {
	m := &message{headers: u.headers, body: u.body, hasBody: !u.eos, trailers: u.trailers}
	defer x.finish() // after the last expected response Envoy closes the stream
	if x.active() && x.mode.GetResponseHeaderMode() != extprocv3cfg.ProcessingMode_SKIP {
		req := &extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_ResponseHeaders{
			ResponseHeaders: &extprocv3.HttpHeaders{Headers: m.headers.proto(), EndOfStream: !m.hasBody}}}
		resp, lr, ok := x.call(req, kindResponseHeaders)
		if lr != nil {
			return nil, lr
		}
		if ok {
			if lr := x.applyHeadersResponse(resp.GetResponseHeaders().GetResponse(), m, false); lr != nil {
				return nil, lr
			}
		}
	} else if x.active() && x.mode.GetResponseBodyMode() == extprocv3cfg.ProcessingMode_BUFFERED && !x.snap.cfg.AllowContentLengthHeader {
		m.headers.del("content-length")
	}
	if x.active() && !bodyModeSupported(x.mode.GetResponseBodyMode()) {
		return nil, x.unsupported("response_body_mode " + x.mode.GetResponseBodyMode().String())
	}
	// An answer with HEADERS then trailers and no DATA: Filter::onTrailers (encodeTrailers, as
	// on the request side) sends a body message only when data was buffered, so none is sent;
	// the trailers go out if their mode is SEND, else Envoy continues with the headers as the
	// headers response left them.
	noData := len(m.body) == 0 && len(m.trailers.entries) > 0
	if x.active() && x.mode.GetResponseBodyMode() == extprocv3cfg.ProcessingMode_BUFFERED && m.hasBody && !m.replaced && !noData {
		if len(m.body) > x.snap.cfg.BufferLimit {
			// The encoder buffer overflowed after headers went into the filter chain: the filter
			// manager replies directly, the processor hears nothing more.
			x.finish()
			return nil, &localReply{status: http.StatusInternalServerError, body: []byte("Internal Server Error"), details: "response_payload_too_large"}
		}
		req := &extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_ResponseBody{
			ResponseBody: &extprocv3.HttpBody{Body: m.body, EndOfStream: len(m.trailers.entries) == 0}}}
		resp, lr, ok := x.call(req, kindResponseBody)
		if lr != nil {
			return nil, lr
		}
		if ok {
			if lr := x.applyBodyResponse(resp.GetResponseBody().GetResponse(), m, false); lr != nil {
				return nil, lr
			}
		}
	}
	if x.active() && x.mode.GetResponseTrailerMode() == extprocv3cfg.ProcessingMode_SEND && len(m.trailers.entries) > 0 {
		req := &extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_ResponseTrailers{
			ResponseTrailers: &extprocv3.HttpTrailers{Trailers: m.trailers.proto()}}}
		resp, lr, ok := x.call(req, kindResponseTrailers)
		if lr != nil {
			return nil, lr
		}
		if ok {
			if _, err := x.mutate(resp.GetResponseTrailers().GetHeaderMutation(), &m.trailers); err != nil {
				return nil, x.mutationFailed(err)
			}
		}
	}
	return m, nil
}

// idleCheck reports what arrived on the stream while nothing was outstanding: a response is
// spurious (500); a failure ends the request unless failure_mode_allow.
func (x *exchange) idleCheck() *localReply {
	if !x.active() {
		return nil
	}
	if x.proc.pendingSpurious() {
		return x.spurious("response with nothing outstanding")
	}
	if t := x.proc.term; t != nil {
		if o, err := classify(t.err); o == streamFailed {
			x.st.StreamFailures.Add(1)
			x.finish()
			if !x.fma {
				return filterReply(x.snap.cfg.StatusOnError, grpcErrorDetails(err))
			}
			x.st.FailureModeAllowed.Add(1)
		} else {
			x.st.CleanCloses.Add(1)
			x.finish()
		}
	}
	return nil
}
