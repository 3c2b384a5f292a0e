package emu

import (
	"fmt"
	"net/http"

	extprocv3cfg "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"google.golang.org/protobuf/proto"
)

// msgKind names the outstanding message, to match the response against it.
type msgKind int

const (
	kindRequestHeaders msgKind = iota
	kindRequestBody
	kindRequestTrailers
	kindResponseHeaders
	kindResponseBody
	kindResponseTrailers
)

var kindNames = [...]string{"request_headers", "request_body", "request_trailers", "response_headers", "response_body", "response_trailers"}

// exchange is the state of one HTTP request through the ext_proc filter and the router.
type exchange struct {
	snap *snapshot
	st   *counters
	r    *http.Request
	w    http.ResponseWriter

	mode      *extprocv3cfg.ProcessingMode // the mode in force (may change by override)
	fma       bool
	proc      *procStream // nil: filter disabled for this request
	done      bool        // processing complete: nothing more is sent
	sentAttrs [2]bool     // attributes sent in the request / response direction
	// routeCleared: clear_route_cache was honoured; the router matches again.
	routeCleared bool
	// upstream: this is ext_proc as an upstream HTTP filter of one router attempt
	// (upstreamfilter.go): immediate responses and route cache clears are ignored.
	upstream bool
	// cluster is the attempt's cluster, for an upstream filter (xds.cluster_name).
	cluster string
	// route is the route matched at request headers: StreamInfo::route(), what the xds.*
	// attributes read.
	route *Route
}

func (x *exchange) active() bool { return x.proc != nil && !x.done }

// finish ends processing and closes the stream.
func (x *exchange) finish() {
	x.done = true
	if x.proc != nil {
		x.proc.close()
	}
}

// call sends one message and returns the matching response. ok is false when the request
// continues without it (clean close, failure_mode_allow); a non-nil localReply ends the request.
func (x *exchange) call(req *extprocv3.ProcessingRequest, kind msgKind) (resp *extprocv3.ProcessingResponse, lr *localReply, ok bool) {
	dir := 0
	if kind >= kindResponseHeaders {
		dir = 1
	}
	if !x.sentAttrs[dir] {
		x.sentAttrs[dir] = true
		req.Attributes = x.snap.attributes(x.r, x, dir)
	}
	resp, out, err := x.proc.roundTrip(req, x.snap.cfg.MessageTimeout, x.snap.cfg.MaxMessageTimeout)
	switch out {
	case closedOK:
		x.st.CleanCloses.Add(1)
		x.finish()
		return nil, nil, false
	case streamFailed:
		x.st.StreamFailures.Add(1)
		x.finish()
		if x.fma {
			x.st.FailureModeAllowed.Add(1)
			return nil, nil, false
		}
		return nil, filterReply(x.snap.cfg.StatusOnError, grpcErrorDetails(err)), false
	case timedOut:
		x.st.MessageTimeouts.Add(1)
		x.finish()
		if x.fma {
			x.st.FailureModeAllowed.Add(1)
			return nil, nil, false
		}
		// Filter::onMessageTimeout: "%s_per-message_timeout_exceeded" with ErrorPrefix.
		return nil, filterReply(http.StatusGatewayTimeout, "ext_proc_error_per-message_timeout_exceeded"), false
	case spurious:
		return nil, x.spurious("response with nothing outstanding"), false
	}
	if kind == kindRequestHeaders || kind == kindResponseHeaders {
		x.maybeOverrideMode(resp.GetModeOverride())
	}
	if ir := resp.GetImmediateResponse(); ir != nil {
		x.finish()
		return nil, x.immediate(ir), false
	}
	if !responseMatches(resp, kind) {
		return nil, x.spurious(fmt.Sprintf("%T in reply to %s", resp.GetResponse(), kindNames[kind])), false
	}
	return resp, nil, true
}

func (x *exchange) spurious(why string) *localReply {
	x.st.SpuriousMessages.Add(1)
	x.finish()
	return filterReply(x.snap.cfg.StatusOnError, "ext_proc_error_spurious_message: "+why)
}

func responseMatches(resp *extprocv3.ProcessingResponse, kind msgKind) bool {
	switch resp.GetResponse().(type) {
	case *extprocv3.ProcessingResponse_RequestHeaders:
		return kind == kindRequestHeaders
	case *extprocv3.ProcessingResponse_RequestBody:
		return kind == kindRequestBody
	case *extprocv3.ProcessingResponse_RequestTrailers:
		return kind == kindRequestTrailers
	case *extprocv3.ProcessingResponse_ResponseHeaders:
		return kind == kindResponseHeaders
	case *extprocv3.ProcessingResponse_ResponseBody:
		return kind == kindResponseBody
	case *extprocv3.ProcessingResponse_ResponseTrailers:
		return kind == kindResponseTrailers
	}
	return false // empty oneof or a type the emulator does not speak
}

// maybeOverrideMode applies mode_override when allowed (EP/ext_proc.cc onReceiveMessage).
// Body modes are taken literally; request_header_mode is meaningless by then.
func (x *exchange) maybeOverrideMode(m *extprocv3cfg.ProcessingMode) {
	if m == nil {
		return
	}
	if !x.snap.cfg.AllowModeOverride || !x.snap.overrideAllowed(m) {
		x.st.ModeOverridesIgnored.Add(1)
		return
	}
	x.st.ModeOverrides.Add(1)
	next := proto.Clone(m).(*extprocv3cfg.ProcessingMode)
	next.RequestHeaderMode = x.mode.GetRequestHeaderMode()
	// effectiveModeOverride: a DEFAULT header or trailer mode in the override takes the filter
	// config's value; body modes stay literal (unset = NONE).
	filter := x.snap.cfg.ProcessingMode
	if next.ResponseHeaderMode == extprocv3cfg.ProcessingMode_DEFAULT {
		next.ResponseHeaderMode = filter.GetResponseHeaderMode()
	}
	if next.RequestTrailerMode == extprocv3cfg.ProcessingMode_DEFAULT {
		next.RequestTrailerMode = filter.GetRequestTrailerMode()
	}
	if next.ResponseTrailerMode == extprocv3cfg.ProcessingMode_DEFAULT {
		next.ResponseTrailerMode = filter.GetResponseTrailerMode()
	}
	x.mode = next
}

// immediate turns an ImmediateResponse into a direct local reply.
func (x *exchange) immediate(ir *extprocv3.ImmediateResponse) *localReply {
	x.st.ImmediateResponses.Add(1)
	status := int(ir.GetStatus().GetCode())
	if status < 200 {
		status = 200
	}
	lr := &localReply{status: status, body: ir.GetBody(), details: replaceAllEmptySpace(ir.GetDetails())}
	// Filter::sendImmediateResponse applies the mutations with the filter's checker; a failure
	// (applyHeaderMutations stops at the first) is only logged and the reply is still sent,
	// carrying the headers set before the failing one.
	if _, err := x.mutate(ir.GetHeaders(), &lr.headers); err != nil {
		x.st.ImmediateMutationFailures.Add(1)
	}
	if gs := ir.GetGrpcStatus(); gs != nil {
		lr.headers.set("grpc-status", fmt.Sprint(gs.GetStatus()))
	}
	return lr
}

// mutate applies a header mutation with the configured rules, counting rejections.
func (x *exchange) mutate(m *extprocv3.HeaderMutation, h *headerMap) (bool, error) {
	n, err := applyHeaderMutation(m, h, x.snap.rules, x.snap.limits)
	x.st.RejectedHeaderMutations.Add(int64(n))
	return m != nil, err
}

// mutationFailed is the local reply for a hard mutation error (ignores failure_mode_allow).
func (x *exchange) mutationFailed(err error) *localReply {
	x.finish()
	return filterReply(x.snap.cfg.StatusOnError, "ext_proc_error: "+err.Error())
}

// bodyModeSupported reports whether the emulator implements m.
func bodyModeSupported(m extprocv3cfg.ProcessingMode_BodySendMode) bool {
	return m == extprocv3cfg.ProcessingMode_NONE || m == extprocv3cfg.ProcessingMode_BUFFERED
}

func (x *exchange) unsupported(what string) *localReply {
	x.st.Unsupported.Add(1)
	x.finish()
	return filterReply(x.snap.cfg.StatusOnError, "emulator_unsupported: "+what)
}
