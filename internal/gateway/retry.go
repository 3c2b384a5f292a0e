package gateway

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"slices"

	"github.com/keygate/keygate/internal/failure"
	"github.com/keygate/keygate/signer"
)

// ShouldRetry reports whether a provider status calls for the one retry of two-step
// verification: the provider has a token source, the status is one it retries on (401 by
// default), and this call is not itself the retry.
func (c *Call) ShouldRetry(status int) bool {
	// A call signed upstream is retried by Envoy's router (DeferSigning).
	return c.Provider.Tokens != nil && !c.retried && !c.deferred && !c.upstream && slices.Contains(c.Provider.RetryOn, status)
}

// Retry is the one retry after the provider rejected the token: the rejected token is dropped,
// the caller's original request runs through the whole pipeline again (a fresh token, fresh
// timestamps and nonces), is sent to the provider directly (Envoy cannot replay a request its
// ext_proc filter already released) with client, or when nil with the provider's retry client
// (its cluster's TLS, HTTP/2 and connect settings), and the answer is processed like any
// response. The caller gets that answer; a second rejection is returned as it is. Calls whose
// signing is deferred to a signed cluster's upstream filter never get here (ShouldRetry).
func (c *Call) Retry(ctx context.Context, client *http.Client, clock signer.Clock) (*signer.Response, error) {
	if client == nil {
		var err error
		if client, err = c.Provider.retryClient(); err != nil {
			return nil, err
		}
	}
	if c.inbound == nil { // ShouldRetry: only a token provider's call is retried
		return nil, failure.New(failure.Internal, "retry", "provider %q's call kept no request to retry", c.Provider.Name)
	}
	c.Exchange.Tokens.Invalidate(ctx)
	again, err := c.Snapshot.BeginWith(c.Provider, *c.inbound, clock)
	if err != nil {
		return nil, err
	}
	again.retried = true
	if err := again.SignRequest(ctx, c.body); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, c.Provider.Timeout)
	defer cancel()
	out := again.Exchange.Request
	body := out.Body()
	req, err := http.NewRequestWithContext(ctx, out.Method, out.Scheme+"://"+out.Authority+out.Path, bytes.NewReader(body))
	if err != nil {
		return nil, failure.Wrap(failure.Internal, "retry", failure.WithoutURL(err), "build the retried request")
	}
	req.Header = out.Header.Clone()
	req.Host = out.Authority
	req.ContentLength = int64(len(body))
	resp, err := client.Do(req)
	if err != nil {
		return nil, failure.Wrap(failure.TransportKind(ctx, err), "retry", failure.WithoutURL(err), "provider unreachable on retry")
	}
	defer resp.Body.Close()
	respBody, err := io.ReadAll(io.LimitReader(resp.Body, c.Snapshot.MaxBody+1))
	if err != nil {
		return nil, failure.Wrap(failure.BadGateway, "retry", err, "reading the provider's answer")
	}
	if int64(len(respBody)) > c.Snapshot.MaxBody {
		return nil, failure.New(failure.BadGateway, "retry", "provider answer over the body limit")
	}
	answer := &signer.Response{Status: resp.StatusCode, Header: resp.Header, Body: respBody}
	if err := again.ProcessResponse(ctx, answer); err != nil {
		return nil, err
	}
	c.Exchange.Used = append(c.Exchange.Used, again.Exchange.Used...)
	for stage, d := range again.Exchange.Timing { // the retry's key reads, token and crypto count too
		c.Exchange.Timing[stage] += d
	}
	return answer, nil
}
