package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	filterv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
)

// modes is what the driver, as Envoy's ext_proc filter, sends the processor. It starts as
// keygate's filter config (headers SEND, bodies BUFFERED) and follows mode_override.
type modes struct {
	requestBody, responseHeaders, responseBody bool
}

// fullModes is keygate's filter config; headerModes is a filter that sends headers only (the
// baseline of providers that need no body).
var (
	fullModes   = modes{requestBody: true, responseHeaders: true, responseBody: true}
	headerModes = modes{responseHeaders: true}
)

// override applies a mode_override the way Envoy does: body modes are taken literally (unset
// is NONE), a response header mode of SKIP stops response headers, DEFAULT keeps them.
func (m modes) override(o *filterv3.ProcessingMode) modes {
	if o == nil {
		return m
	}
	m.requestBody = o.GetRequestBodyMode() != filterv3.ProcessingMode_NONE
	m.responseBody = o.GetResponseBodyMode() != filterv3.ProcessingMode_NONE
	switch o.GetResponseHeaderMode() {
	case filterv3.ProcessingMode_SKIP:
		m.responseHeaders = false
	case filterv3.ProcessingMode_SEND:
		m.responseHeaders = true
	}
	return m
}

// errRefused is an ImmediateResponse: the processor refused or failed the request.
var errRefused = errors.New("processor answered with an immediate response")

// oneRequest runs one request over its own stream, BUFFERED ping-pong: each message waits for
// its answer. It returns the server time: the sum, over messages, of send-to-answer time.
func oneRequest(ctx context.Context, c extprocv3.ExternalProcessorClient, ex *exchange, start modes, id uint64) (time.Duration, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := c.Process(ctx)
	if err != nil {
		return 0, err
	}
	var server time.Duration
	roundTrip := func(msg *extprocv3.ProcessingRequest) (*extprocv3.ProcessingResponse, error) {
		t := time.Now()
		if err := stream.Send(msg); err != nil {
			return nil, err
		}
		resp, err := stream.Recv()
		server += time.Since(t)
		if err != nil {
			return nil, err
		}
		if resp.GetImmediateResponse() != nil {
			return nil, fmt.Errorf("%w (status %d)", errRefused, resp.GetImmediateResponse().GetStatus().GetCode())
		}
		return resp, nil
	}
	m := start
	resp, err := roundTrip(ex.requestHeaders(id))
	if err != nil {
		return server, err
	}
	if resp.GetRequestHeaders() == nil {
		return server, fmt.Errorf("answer to request_headers is %T", resp.GetResponse())
	}
	m = m.override(resp.GetModeOverride())
	if m.requestBody && len(ex.reqBody) > 0 {
		if resp, err = roundTrip(ex.requestBody()); err != nil {
			return server, err
		}
		if resp.GetRequestBody() == nil {
			return server, fmt.Errorf("answer to request_body is %T", resp.GetResponse())
		}
	}
	if m.responseHeaders {
		if resp, err = roundTrip(ex.responseHeaders()); err != nil {
			return server, err
		}
		if resp.GetResponseHeaders() == nil {
			return server, fmt.Errorf("answer to response_headers is %T", resp.GetResponse())
		}
		m = m.override(resp.GetModeOverride())
	}
	if m.responseBody && len(ex.respBody) > 0 {
		if resp, err = roundTrip(ex.responseBody()); err != nil {
			return server, err
		}
		if resp.GetResponseBody() == nil {
			return server, fmt.Errorf("answer to response_body is %T", resp.GetResponse())
		}
	}
	// Envoy ends the stream when the request is done; the processor then returns OK.
	if err := stream.CloseSend(); err != nil {
		return server, err
	}
	if _, err := stream.Recv(); !errors.Is(err, io.EOF) {
		return server, fmt.Errorf("stream did not end cleanly: %v", err)
	}
	return server, nil
}
