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

// fullModes is keygate's filter config.
var fullModes = modes{requestBody: true, responseHeaders: true, responseBody: true}

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

// immediateError is an ImmediateResponse with its HTTP status; it is errRefused.
type immediateError struct{ status int }

func (e immediateError) Error() string        { return fmt.Sprintf("%v (status %d)", errRefused, e.status) }
func (e immediateError) Is(target error) bool { return target == errRefused }

// unavailable reports whether err is a 503 answer: the memory budget refusing a request.
func unavailable(err error) bool {
	var ie immediateError
	return errors.As(err, &ie) && ie.status == 503
}

// recording is what one request showed of its processor: the messages Envoy sent (the modes
// in force after every mode_override) and the answer to each kind of message. The baselines
// are built from keygate's recording: the same messages, and (protocol limit) the same answers.
type recording struct {
	sent    modes // the messages beyond request_headers that were sent
	answers map[kind]*extprocv3.ProcessingResponse
}

// kind is a ProcessingRequest's message type.
type kind int

const (
	kindRequestHeaders kind = iota
	kindRequestBody
	kindResponseHeaders
	kindResponseBody
	kindOther
)

func kindOf(msg *extprocv3.ProcessingRequest) kind {
	switch msg.GetRequest().(type) {
	case *extprocv3.ProcessingRequest_RequestHeaders:
		return kindRequestHeaders
	case *extprocv3.ProcessingRequest_RequestBody:
		return kindRequestBody
	case *extprocv3.ProcessingRequest_ResponseHeaders:
		return kindResponseHeaders
	case *extprocv3.ProcessingRequest_ResponseBody:
		return kindResponseBody
	}
	return kindOther
}

// messages is how many messages a request in modes m sends, request_headers included.
func (m modes) messages() int {
	n := 1
	for _, on := range []bool{m.requestBody, m.responseHeaders, m.responseBody} {
		if on {
			n++
		}
	}
	return n
}

// oneRequest runs one request over its own stream, BUFFERED ping-pong: each message waits for
// its answer. It returns the server time: the sum, over messages, of send-to-answer time. rec,
// when not nil, records the messages sent and the answers.
func oneRequest(ctx context.Context, c extprocv3.ExternalProcessorClient, ex *exchange, start modes, id uint64, rec *recording) (time.Duration, error) {
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
			return nil, immediateError{status: int(resp.GetImmediateResponse().GetStatus().GetCode())}
		}
		if rec != nil {
			rec.answers[kindOf(msg)] = resp
		}
		return resp, nil
	}
	if rec != nil {
		*rec = recording{answers: map[kind]*extprocv3.ProcessingResponse{}}
	}
	var sent modes
	defer func() {
		if rec != nil {
			rec.sent = sent
		}
	}()
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
		sent.requestBody = true
		if resp, err = roundTrip(ex.requestBody()); err != nil {
			return server, err
		}
		if resp.GetRequestBody() == nil {
			return server, fmt.Errorf("answer to request_body is %T", resp.GetResponse())
		}
	}
	if m.responseHeaders {
		sent.responseHeaders = true
		if resp, err = roundTrip(ex.responseHeaders()); err != nil {
			return server, err
		}
		if resp.GetResponseHeaders() == nil {
			return server, fmt.Errorf("answer to response_headers is %T", resp.GetResponse())
		}
		m = m.override(resp.GetModeOverride())
	}
	if m.responseBody && len(ex.respBody) > 0 {
		sent.responseBody = true
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
