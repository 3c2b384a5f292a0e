package emu

import (
	"errors"
	"fmt"
	"io"
	"net/http"

	extprocv3cfg "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"google.golang.org/protobuf/proto"
)

// message is one direction's headers, body and trailers as the filter holds them.
type message struct {
	headers  headerMap
	body     []byte
	hasBody  bool // false: end_stream on the headers
	trailers headerMap
	replaced bool // CONTINUE_AND_REPLACE replaced the body: later data is discarded
}

// setup picks the mode for the route matched at request-headers time, as Envoy's filter reads
// its per-route config then.
func (x *exchange) setup(route *Route) {
	x.route = route
	cfg := x.snap.cfg
	if cfg.Disabled {
		return
	}
	mode, fma := cfg.ProcessingMode, cfg.FailureModeAllow
	if route != nil && route.ExtProc != nil {
		if route.ExtProc.Disabled {
			return
		}
		if route.ExtProc.ProcessingMode != nil {
			mode = route.ExtProc.ProcessingMode
		}
		if route.ExtProc.FailureModeAllow != nil {
			fma = *route.ExtProc.FailureModeAllow
		}
	}
	x.mode = &extprocv3cfg.ProcessingMode{}
	if mode != nil {
		x.mode = proto.Clone(mode).(*extprocv3cfg.ProcessingMode)
	}
	x.fma = fma
	x.proc = &procStream{client: x.snap.client, parent: x.r.Context(), stats: x.st, metadata: cfg.InitialMetadata,
		protocol: &extprocv3.ProtocolConfiguration{
			RequestBodyMode:  x.mode.GetRequestBodyMode(),
			ResponseBodyMode: x.mode.GetResponseBodyMode(),
		}}
}

// requestPath runs the decoder side of the filter: request headers, body, trailers.
func (x *exchange) requestPath(m *message) *localReply {
	// Data that arrives during the headers round trip is buffered against the limit when the
	// mode then in force is BUFFERED (Filter::onData returns StopIterationAndBuffer while the
	// headers callback is pending), before a mode_override can switch body processing off. The
	// emulator reads the body only after the headers response, so it takes the case where the
	// whole body arrived during the round trip: the limit applies from the configured mode.
	limitAtHeaders := x.active() && x.mode.GetRequestBodyMode() == extprocv3cfg.ProcessingMode_BUFFERED
	if x.active() && x.mode.GetRequestHeaderMode() != extprocv3cfg.ProcessingMode_SKIP {
		req := &extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_RequestHeaders{
			RequestHeaders: &extprocv3.HttpHeaders{Headers: m.headers.proto(), EndOfStream: !m.hasBody}}}
		resp, lr, ok := x.call(req, kindRequestHeaders)
		if lr != nil {
			return lr
		}
		if ok {
			if lr := x.applyHeadersResponse(resp.GetRequestHeaders().GetResponse(), m, true); lr != nil {
				return lr
			}
		}
	} else if x.active() && x.mode.GetRequestBodyMode() == extprocv3cfg.ProcessingMode_BUFFERED && !x.snap.cfg.AllowContentLengthHeader {
		m.headers.del("content-length")
	}
	buffered := x.active() && x.mode.GetRequestBodyMode() == extprocv3cfg.ProcessingMode_BUFFERED && !m.replaced
	if x.active() && !bodyModeSupported(x.mode.GetRequestBodyMode()) {
		return x.unsupported("request_body_mode " + x.mode.GetRequestBodyMode().String())
	}
	if m.hasBody && !x.upstream { // an upstream filter gets the router's buffered body
		limit := int64(-1)
		if buffered || limitAtHeaders {
			limit = int64(x.snap.cfg.BufferLimit)
		}
		body, err := readBody(x.r.Body, limit)
		if errors.Is(err, errBodyTooLarge) {
			return routerReply(http.StatusRequestEntityTooLarge, "Payload Too Large", "request_payload_too_large")
		}
		if err != nil {
			return routerReply(http.StatusBadRequest, "", "downstream_remote_disconnect")
		}
		if !m.replaced {
			m.body = body
		}
		// Envoy's HTTP/1 codec drops request trailers unless http_protocol_options
		// enable_trailers is set (the HCM default): end_of_stream then arrives with the body.
		if x.r.ProtoMajor >= 2 {
			m.trailers.fromHTTPHeader(x.r.Trailer)
		}
	}
	// An HTTP/2 request with HEADERS then trailers and no DATA: Filter::onTrailers sends a body
	// message only when data was buffered (state.bufferedData() non-null), so none is sent; the
	// trailers go out if their mode is SEND, else Envoy continues with the headers as the
	// headers response left them.
	noData := len(m.body) == 0 && len(m.trailers.entries) > 0
	if buffered && m.hasBody && x.active() && !noData {
		req := &extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_RequestBody{
			RequestBody: &extprocv3.HttpBody{Body: m.body, EndOfStream: len(m.trailers.entries) == 0}}}
		resp, lr, ok := x.call(req, kindRequestBody)
		if lr != nil {
			return lr
		}
		if ok {
			if lr := x.applyBodyResponse(resp.GetRequestBody().GetResponse(), m, true); lr != nil {
				return lr
			}
		}
	}
	if x.active() && x.mode.GetRequestTrailerMode() == extprocv3cfg.ProcessingMode_SEND && len(m.trailers.entries) > 0 {
		req := &extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_RequestTrailers{
			RequestTrailers: &extprocv3.HttpTrailers{Trailers: m.trailers.proto()}}}
		resp, lr, ok := x.call(req, kindRequestTrailers)
		if lr != nil {
			return lr
		}
		if ok {
			if _, err := x.mutate(resp.GetRequestTrailers().GetHeaderMutation(), &m.trailers); err != nil {
				return x.mutationFailed(err)
			}
		}
	}
	return nil
}

// readBody reads r whole; limit >= 0 caps it (errBodyTooLarge beyond).
func readBody(r io.Reader, limit int64) ([]byte, error) {
	if limit < 0 {
		return io.ReadAll(r)
	}
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err == nil && int64(len(b)) > limit {
		return nil, errBodyTooLarge
	}
	return b, err
}

// applyHeadersResponse applies a HeadersResponse (EP/processor_state.cc handleHeadersResponse).
func (x *exchange) applyHeadersResponse(cr *extprocv3.CommonResponse, m *message, request bool) *localReply {
	if _, err := x.mutate(cr.GetHeaderMutation(), &m.headers); err != nil {
		return x.mutationFailed(err)
	}
	x.maybeClearRouteCache(cr, request)
	if cr.GetStatus() != extprocv3.CommonResponse_CONTINUE_AND_REPLACE {
		return nil
	}
	if bm := cr.GetBodyMutation(); bm != nil {
		m.headers.del("content-length")
		m.body = applyBodyMutation(bm, m.body)
		m.hasBody, m.replaced = true, true
	}
	// Nothing more is sent in this direction.
	if request {
		x.mode.RequestBodyMode, x.mode.RequestTrailerMode = extprocv3cfg.ProcessingMode_NONE, extprocv3cfg.ProcessingMode_SKIP
	} else {
		x.mode.ResponseBodyMode, x.mode.ResponseTrailerMode = extprocv3cfg.ProcessingMode_NONE, extprocv3cfg.ProcessingMode_SKIP
	}
	return nil
}

// applyBodyResponse applies a BodyResponse in BUFFERED mode (handleBodyResponse): header
// mutation on the held headers, then the content-length equality check, then the new body.
func (x *exchange) applyBodyResponse(cr *extprocv3.CommonResponse, m *message, request bool) *localReply {
	if _, err := x.mutate(cr.GetHeaderMutation(), &m.headers); err != nil {
		return x.mutationFailed(err)
	}
	x.maybeClearRouteCache(cr, request)
	bm := cr.GetBodyMutation()
	if bm == nil {
		return nil
	}
	if n, ok := m.headers.contentLength(); ok && n != len(bm.GetBody()) {
		return x.mutationFailed(fmt.Errorf("mismatch between content length and the length of the mutated body"))
	}
	m.body = applyBodyMutation(bm, m.body)
	return nil
}

func applyBodyMutation(bm *extprocv3.BodyMutation, body []byte) []byte {
	switch v := bm.GetMutation().(type) {
	case *extprocv3.BodyMutation_Body:
		return append([]byte(nil), v.Body...)
	case *extprocv3.BodyMutation_ClearBody:
		if v.ClearBody {
			return []byte{}
		}
	}
	return body
}

// maybeClearRouteCache: request direction only, and only with a header mutation in the same
// response (DecodingProcessorState::clearRouteCache).
func (x *exchange) maybeClearRouteCache(cr *extprocv3.CommonResponse, request bool) {
	if x.upstream { // DecodingProcessorState::clearRouteCache: ignored in an upstream filter
		if cr.GetClearRouteCache() {
			x.st.UpstreamIgnored.Add(1)
		}
		return
	}
	if request && cr.GetClearRouteCache() && cr.GetHeaderMutation() != nil {
		x.st.RouteCacheClears.Add(1)
		x.routeCleared = true
	}
}
