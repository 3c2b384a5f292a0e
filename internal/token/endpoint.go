package token

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"

	"github.com/keygate/keygate/internal/failure"
)

// maxTokenResponse bounds how much of a token endpoint's answer is read.
const maxTokenResponse = 1 << 20

// endpoint is a token endpoint as errors name it: scheme, host and path, never the query (it
// may carry credentials).
func endpoint(u *url.URL) string {
	return u.Scheme + "://" + u.Host + u.EscapedPath()
}

// call sends req and returns the 2xx response body decoded as JSON. Every error is a failure at
// stage "token" naming the endpoint and, for an answer, its status and a description of the body
// (content type and length): the body itself may hold a token and is never quoted.
func call(client *http.Client, req *http.Request, ep string) (any, string, error) {
	resp, err := client.Do(req)
	if err != nil {
		return nil, "", transportError(req.Context(), ep, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxTokenResponse+1))
	if err != nil {
		return nil, "", transportError(req.Context(), ep, err)
	}
	desc := describe(resp.Header.Get("Content-Type"), len(body))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		kind := failure.BadGateway
		if resp.StatusCode == http.StatusServiceUnavailable || resp.StatusCode == http.StatusTooManyRequests {
			kind = failure.Unavailable
		}
		return nil, desc, failure.New(kind, stage, "token endpoint %s answered %d (%s)", ep, resp.StatusCode, desc)
	}
	if len(body) > maxTokenResponse {
		return nil, desc, failure.New(failure.BadGateway, stage, "token endpoint %s answered %d with more than %d bytes", ep, resp.StatusCode, maxTokenResponse)
	}
	var doc any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil || dec.More() {
		return nil, desc, failure.New(failure.BadGateway, stage, "token endpoint %s answered %d without access_token: the body is not JSON (%s)", ep, resp.StatusCode, desc)
	}
	return doc, desc, nil
}

// transportError classifies a failure to get an answer: out of time is Timeout, anything else
// (refused, reset, DNS) is Unavailable. The url.Error wrapper is dropped: it quotes the full URL.
func transportError(ctx context.Context, ep string, err error) error {
	if failure.TransportKind(ctx, err) == failure.Timeout {
		return failure.Wrap(failure.Timeout, stage, failure.WithoutURL(err), "token endpoint "+ep+" did not answer in time")
	}
	return failure.Wrap(failure.Unavailable, stage, failure.WithoutURL(err), "token endpoint "+ep+" is unreachable")
}

// describe says what a body was without quoting it.
func describe(contentType string, n int) string {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil || mt == "" {
		mt = "no content type"
	}
	return fmt.Sprintf("%s, %d bytes", mt, n)
}
