package extproc

import (
	filterv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
)

// modeOverride asks Envoy for exactly what the provider needs: the request body only to
// change it, the response headers only when something reads the response (a response step, or
// a token a 401 must invalidate and retry), the response body only for response steps. Envoy
// applies body modes literally (unset = NONE), so every mode is always set. The messages are
// shared and never modified.
// The request trailers are always asked for (Envoy sends them only for a request that has
// some): keygate's headers do not leave as trailers (a caller's tenant key, a spoofed
// X-Keygate-Callback), and when the body is asked for, Envoy sends a request with trailers and
// no DATA as request_trailers (Filter::onTrailers), which keygate refuses, instead of
// continuing with headers that were never signed. The response trailers are asked for with the
// response body, for the same reason: an answer with trailers and no DATA gets no body
// message, and would reach the caller unverified.
func (p *processor) modeOverride(requestBody bool) *filterv3.ProcessingMode {
	rb, rh, rsb := p.modeIndex(requestBody)
	return modes[rb][rh][rsb]
}

// modeIndex is modeOverride's place in modes.
func (p *processor) modeIndex(requestBody bool) (rb, rh, rsb int) {
	responseBody := p.call.WantsResponseBody()
	// A token's 401 is read here to drop it and retry, unless the router retries (Deferred).
	responseHeaders := responseBody || p.call.Provider.Tokens != nil && !p.call.Deferred()
	return b2i(requestBody), b2i(responseHeaders), b2i(responseBody)
}

// modes[requestBody][responseHeaders][responseBody] are the eight processing modes keygate asks
// for, built once.
var modes = func() (t [2][2][2]*filterv3.ProcessingMode) {
	mode := func(on bool, yes filterv3.ProcessingMode_BodySendMode) filterv3.ProcessingMode_BodySendMode {
		if on {
			return yes
		}
		return filterv3.ProcessingMode_NONE
	}
	for rb := range 2 {
		for rh := range 2 {
			for rsb := range 2 {
				headers, respTrailers := filterv3.ProcessingMode_SKIP, filterv3.ProcessingMode_SKIP
				if rh == 1 {
					headers = filterv3.ProcessingMode_SEND
				}
				if rsb == 1 {
					respTrailers = filterv3.ProcessingMode_SEND
				}
				t[rb][rh][rsb] = &filterv3.ProcessingMode{
					RequestHeaderMode:   filterv3.ProcessingMode_SEND,
					ResponseHeaderMode:  headers,
					RequestBodyMode:     mode(rb == 1, filterv3.ProcessingMode_BUFFERED),
					ResponseBodyMode:    mode(rsb == 1, filterv3.ProcessingMode_BUFFERED),
					RequestTrailerMode:  filterv3.ProcessingMode_SEND,
					ResponseTrailerMode: respTrailers,
				}
			}
		}
	}
	return t
}()

// Answers that change nothing are one message for every stream, built once and never modified
// (gRPC only reads what it sends, as with the modes above): continuing the response headers,
// and continuing the request headers with each mode override. Each was an answer built per
// request (one to three allocations).
var (
	continueResponseHeaders = &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_ResponseHeaders{
		ResponseHeaders: &extprocv3.HeadersResponse{}}}
	// continueRequestHeaders[requestBody][responseHeaders][responseBody] has modes' override.
	continueRequestHeaders = func() (t [2][2][2]*extprocv3.ProcessingResponse) {
		for rb := range 2 {
			for rh := range 2 {
				for rsb := range 2 {
					t[rb][rh][rsb] = &extprocv3.ProcessingResponse{
						Response:     &extprocv3.ProcessingResponse_RequestHeaders{RequestHeaders: &extprocv3.HeadersResponse{}},
						ModeOverride: modes[rb][rh][rsb],
					}
				}
			}
		}
		return t
	}()
)

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
