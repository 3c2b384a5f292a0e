package gateway

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/keygate/keygate/internal/failure"
	"github.com/keygate/keygate/internal/routing"
	"github.com/keygate/keygate/internal/tenancy"
	"github.com/keygate/keygate/keystore"
	"github.com/keygate/keygate/signer"
)

// Upstream signing (docs/envoy-ext-proc.md section 11): a provider whose Envoy cluster is a
// signed one (routing.SignedCluster) is signed in the cluster's upstream ext_proc filter, once
// per router attempt. The downstream phase identifies, authenticates, authorizes, rewrites and
// checks what can fail; the upstream phase signs as the provider's tenant.

// SignsUpstream reports whether p can be signed in an upstream filter: it has a token source
// and no script (a script rewrites the path itself, and each attempt starts from the previous
// attempt's headers). xds gives exactly these providers a signed cluster (config.File.
// SignsUpstream) when envoy.upstream_signing is on.
func (p *Provider) SignsUpstream() bool { return p.Tokens != nil && !p.ScriptOwnsPath }

// DeferSigning marks the call as signed in the upstream phase: Envoy routes it to cluster, the
// signed cluster of this call's provider. The call then neither signs nor retries; Precheck
// stands in for the signing's failures. An error means Envoy's routing and keygate's config
// disagree about the provider: nothing may leave.
func (c *Call) DeferSigning(cluster string) error {
	name, _ := routing.SignedProviderOf(cluster)
	if name != c.Provider.Name {
		return failure.New(failure.Internal, "identify", "Envoy routes provider %q to cluster %q, the signed cluster of another provider", c.Provider.Name, cluster)
	}
	if !c.Provider.SignsUpstream() {
		return failure.New(failure.Internal, "identify", "Envoy routes provider %q to a signed cluster, but the provider cannot be signed upstream (it has no token source, or a script)", c.Provider.Name)
	}
	c.deferred = true
	return nil
}

// Deferred reports whether the upstream phase signs this call (DeferSigning).
func (c *Call) Deferred() bool { return c.deferred }

// Precheck does, in the downstream phase, what the upstream phase's signing needs and can
// fail at: every KV secret of the provider is read (and pinned for this call's response
// phase), and a token is obtained (cached, so the upstream phase finds it). An upstream
// failure cannot be answered (Envoy ignores an upstream immediate response: the caller waits
// for the route timeout), so the common ones are answered here, at once and with their status.
func (c *Call) Precheck(ctx context.Context) error {
	names := make([]string, 0, len(c.Provider.Secrets))
	for name, ref := range c.Provider.Secrets {
		if ref.Kind == keystore.KV {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	for _, name := range names {
		if _, err := c.Exchange.Keys.Secret(ctx, c.Exchange, name); err != nil {
			return stageDefault(err, "keys", "precheck")
		}
	}
	if c.tokens != nil {
		if _, err := c.tokens.Token(ctx); err != nil {
			return stageDefault(err, "token", "precheck")
		}
	}
	return nil
}

// Attempt is one router attempt as the upstream filter sees it: the router's headers, which
// carry the downstream phase's rewrite and any earlier attempt's signature.
type Attempt struct {
	Method    string
	Authority string
	Path      string // already under the provider's prefix (the downstream phase rewrote it)
	Header    http.Header
	BodySize  int64 // -1 when unknown
}

// BeginUpstream prepares the signing of one attempt to provider p, which Envoy chose by the
// attempt's cluster (never by a header). The tenant is the provider's own: the caller was
// authenticated and authorized in the downstream phase, and the upstream phase reads no caller
// identity (one place decides the tenant). A keygate header in the attempt means the
// downstream phase did not run or did not strip it: refused.
func (s *Snapshot) BeginUpstream(p *Provider, a Attempt, clock signer.Clock) (*Call, error) {
	if !p.SignsUpstream() {
		return nil, failure.New(failure.Internal, "identify", "provider %q cannot be signed upstream (no token source, or a script)", p.Name)
	}
	header := make(http.Header, len(a.Header))
	for name, vals := range a.Header {
		if tenancy.IsKeygateHeader(name) {
			return nil, failure.New(failure.Forbidden, "tenant", "header %q reached the upstream phase: the downstream phase did not run", strings.ToLower(name))
		}
		header[http.CanonicalHeaderKey(name)] = slices.Clone(vals)
	}
	if a.BodySize > s.MaxBody {
		return nil, failure.New(failure.TooLarge, "identify", "request body of %d bytes is over the limit of %d", a.BodySize, s.MaxBody)
	}
	if err := routing.CheckPath(a.Path); err != nil {
		return nil, failure.New(failure.BadRequest, "path", "request path %q %v", a.Path, err)
	}
	if prefix := p.Upstream.Path; prefix != "" && a.Path != prefix && !strings.HasPrefix(a.Path, prefix+"/") && !strings.HasPrefix(a.Path, prefix+"?") {
		return nil, failure.New(failure.BadRequest, "path", "attempt path %q is not under the provider's prefix %q", a.Path, prefix)
	}
	req := signer.NewRequest(a.Method, p.Upstream.Scheme, p.Upstream.Host, a.Path, header, nil)
	call := &Call{
		Snapshot: s, Provider: p,
		Exchange: &signer.Exchange{
			Tenant: p.Tenant, Provider: p.Name, Request: req, Keys: p.Keys, Clock: clock,
		},
		upstream: true,
	}
	call.tokens = newExchangeTokens(p.Tokens, p.scriptTokenFetch)
	call.Exchange.Tokens = call.tokens
	return call, nil
}

// SignAttempt signs one attempt with body (nil: none). The attempt's headers carry the previous
// attempt's signature: the steps overwrite what they write, but a value an earlier attempt
// left (a timestamp a step keeps when present, a signature over a header the step rewrites)
// must not take part. So when signing changed a header or query parameter the attempt already
// had, those are dropped and the attempt is signed again from the request without them: the
// signature covers only this attempt's values, with a fresh token and nonce.
func (c *Call) SignAttempt(ctx context.Context, body []byte) error {
	before := c.Exchange.Request
	header, path := before.Header.Clone(), before.Path
	if err := c.SignRequest(ctx, body); err != nil {
		return err
	}
	after := c.Exchange.Request
	var stale []string
	for name, vals := range header {
		if got, ok := after.Header[name]; ok && !slices.Equal(got, vals) {
			stale = append(stale, name)
		}
	}
	staleQuery := staleParams(path, after.Path)
	if len(stale) == 0 && len(staleQuery) == 0 {
		return nil
	}
	// The attempt carries an earlier signature. A step that keeps a value when present (a
	// timestamp set only when absent) left it unchanged, so it shows in no difference: what the
	// steps write at all is learnt from a probe, the same request signed without the
	// attempt's headers, and removed too.
	p := c.Provider
	probe := &Call{Snapshot: c.Snapshot, Provider: p, upstream: true, tokens: c.tokens,
		Exchange: &signer.Exchange{Tenant: c.Exchange.Tenant, Provider: p.Name, Keys: p.Keys, Clock: c.Exchange.Clock, Tokens: c.Exchange.Tokens,
			Request: signer.NewRequest(before.Method, p.Upstream.Scheme, p.Upstream.Host, withoutQuery(path), http.Header{}, nil)}}
	if err := probe.SignRequest(ctx, body); err == nil {
		for name := range probe.Exchange.Request.Header {
			stale = append(stale, name)
		}
		staleQuery = append(staleQuery, staleParams("?", probe.Exchange.Request.Path)...)
	}
	for _, name := range stale {
		header.Del(name)
	}
	path = withoutParams(path, staleQuery)
	c.Exchange.Request = signer.NewRequest(before.Method, p.Upstream.Scheme, p.Upstream.Host, path, header, nil)
	c.Exchange.Used, c.Exchange.Sensitive = nil, nil
	return c.SignRequest(ctx, body)
}

func withoutQuery(path string) string {
	p, _, _ := strings.Cut(path, "?")
	return p
}

// staleParams are the query parameters of out that signing changed from path ("?": every
// parameter of out).
func staleParams(path, out string) []string {
	_, q, _ := strings.Cut(path, "?")
	_, oq, _ := strings.Cut(out, "?")
	if q == oq {
		return nil
	}
	if path == "?" {
		vals, _ := url.ParseQuery(oq)
		names := make([]string, 0, len(vals))
		for k := range vals {
			names = append(names, k)
		}
		return names
	}
	if q == "" {
		return nil
	}
	in, err1 := url.ParseQuery(q)
	now, err2 := url.ParseQuery(oq)
	if err1 != nil || err2 != nil {
		return nil
	}
	var stale []string
	for k, v := range in {
		if got, ok := now[k]; !ok || !slices.Equal(got, v) {
			stale = append(stale, k)
		}
	}
	return stale
}

// withoutParams is path without the query parameters named (the rest kept as written).
func withoutParams(path string, names []string) string {
	p, q, ok := strings.Cut(path, "?")
	if !ok || len(names) == 0 {
		return path
	}
	var kept []string
	for _, part := range strings.Split(q, "&") {
		k, _, _ := strings.Cut(part, "=")
		if key, err := url.QueryUnescape(k); err == nil && slices.Contains(names, key) {
			continue
		}
		kept = append(kept, part)
	}
	if len(kept) == 0 {
		return p
	}
	return p + "?" + strings.Join(kept, "&")
}

// AttemptRejected is the upstream phase's answer to the attempt's response status: a status
// the token source retries on drops exactly the token this attempt used (the token manager's
// precise invalidation), so the router's retry, signed in its own upstream stream, fetches a
// fresh one. It reports whether the token was dropped.
func (c *Call) AttemptRejected(ctx context.Context, status int) bool {
	if c.tokens == nil || !slices.Contains(c.Provider.RetryOn, status) {
		return false
	}
	c.tokens.Invalidate(ctx)
	return true
}
