package extproc

import (
	filterv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
)

// answer is a ProcessingResponse with the messages a headers or body answer points to, in one
// allocation: built as separate messages, a signed answer was five (headers) to seven (body)
// allocations, a fifth of a stream's (profiled). Each answer is built for one message and
// handed to gRPC; nothing in it is shared or changed afterwards.
type answer struct {
	resp        extprocv3.ProcessingResponse
	reqHeaders  extprocv3.ProcessingResponse_RequestHeaders
	reqBody     extprocv3.ProcessingResponse_RequestBody
	respHeaders extprocv3.ProcessingResponse_ResponseHeaders
	respBody    extprocv3.ProcessingResponse_ResponseBody
	headers     extprocv3.HeadersResponse
	body        extprocv3.BodyResponse
	common      extprocv3.CommonResponse
	mut         extprocv3.HeaderMutation
	bodyMut     extprocv3.BodyMutation
	newBody     extprocv3.BodyMutation_Body
}

// mutation is the answer's CommonResponse with its header mutation, and with body as the new
// body when withBody.
func (a *answer) mutation(body []byte, withBody bool) (*extprocv3.CommonResponse, *extprocv3.HeaderMutation) {
	a.common.HeaderMutation = &a.mut
	if withBody {
		a.newBody.Body = body
		a.bodyMut.Mutation = &a.newBody
		a.common.BodyMutation = &a.bodyMut
	}
	return &a.common, &a.mut
}

// requestHeaders is the answer to request_headers with cr (nil: continue unchanged).
func (a *answer) requestHeaders(cr *extprocv3.CommonResponse, mode *filterv3.ProcessingMode) *extprocv3.ProcessingResponse {
	a.headers.Response = cr
	a.reqHeaders.RequestHeaders = &a.headers
	a.resp.Response, a.resp.ModeOverride = &a.reqHeaders, mode
	return &a.resp
}

// requestBody is the answer to request_body with cr.
func (a *answer) requestBody(cr *extprocv3.CommonResponse) *extprocv3.ProcessingResponse {
	a.body.Response = cr
	a.reqBody.RequestBody = &a.body
	a.resp.Response = &a.reqBody
	return &a.resp
}

// responseHeaders is the answer to response_headers with cr (nil: continue unchanged).
func (a *answer) responseHeaders(cr *extprocv3.CommonResponse) *extprocv3.ProcessingResponse {
	a.headers.Response = cr
	a.respHeaders.ResponseHeaders = &a.headers
	a.resp.Response = &a.respHeaders
	return &a.resp
}

// responseBody is the answer to response_body with cr.
func (a *answer) responseBody(cr *extprocv3.CommonResponse) *extprocv3.ProcessingResponse {
	a.body.Response = cr
	a.respBody.ResponseBody = &a.body
	a.resp.Response = &a.respBody
	return &a.resp
}
