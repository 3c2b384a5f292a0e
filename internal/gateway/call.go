package gateway

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/keygate/keygate/internal/failure"
	"github.com/keygate/keygate/internal/routing"
	"github.com/keygate/keygate/internal/tenancy"
	"github.com/keygate/keygate/signer"
)

// Inbound is a request as the calling service sent it to the egress.
type Inbound struct {
	Method    string
	Authority string // the provider alias the caller used, e.g. pay.egress.local
	// Route is the name of the route Envoy matched (routing.RouteAttribute), "" when Envoy did
	// not send it. It identifies the provider when it is one of keygate's routes.
	Route string
	// Ingress is set for a stream the ingress listener's ext_proc filter opened (its gRPC
	// metadata, routing.IngressPhase): only a callback provider's route is served there.
	Ingress bool
	Path    string      // path and query as sent
	Header  http.Header // read, never changed: the call works on its own copy
	// Fields, when not nil, are the request's headers in place of Header, as the ext_proc
	// server reads them from Envoy: one field per distinct lower-case name, pseudo-headers
	// (":" first) included and skipped here. Read, never changed. Building an http.Header for
	// Begin to copy was a map and its hashing per request (profiled).
	Fields   []HeaderField
	SPIFFEID string // the caller's mTLS identity, when Envoy forwarded it
	BodySize int64  // -1 when unknown
	// Operator is set only by in-process callers that already authenticated an operator (the
	// dry run, the admin API): the tenant is then taken as given and only authorized. The
	// ext_proc server never sets it.
	Operator *OperatorTenant
}

// HeaderField is one request header as Envoy sent it: its name, lower-case, and its values in
// order.
type HeaderField struct {
	Name   string
	Values []string
}

// OperatorTenant is the tenant an authenticated operator acts for ("" = the provider's own).
type OperatorTenant struct{ Tenant string }

// Call is one request through one provider, from Begin to ProcessResponse. It holds the
// snapshot it began with, so a reload never changes a request in flight.
type Call struct {
	Snapshot *Snapshot
	Provider *Provider
	Exchange *signer.Exchange

	tokens  *exchangeTokens // this request's view of the provider's token source, or nil
	inbound *Inbound        // kept for the one retry of two-step verification (token providers only)
	body    []byte
	retried bool
	// deferred: the upstream phase signs this call (DeferSigning); upstream: this call is
	// that phase, one router attempt (BeginUpstream).
	deferred, upstream bool
}

// callState is a Call with the Exchange and Request it points to.
type callState struct {
	call Call
	x    signer.Exchange
	req  signer.Request
}

// tokenCallState is a token provider's callState, with the call's view of the token source and
// the caller's request kept for the one retry. Apart, so that the other providers' calls, which
// need neither, are a size class smaller (1 KiB, not 1152 bytes).
type tokenCallState struct {
	callState
	tokens  exchangeTokens
	inbound Inbound
}

// Begin identifies the provider and the tenant and prepares the outbound request: the path is
// rewritten to the provider's prefix, :authority to the upstream host, keygate's headers are
// dropped. It fails closed: 404 for no provider, 401/403 for tenancy, 400 for a spoofed header.
func (s *Snapshot) Begin(in Inbound, clock signer.Clock) (*Call, error) {
	start := time.Now()
	p, err := s.IdentifyOn(in.Ingress, in.Route, in.Authority)
	if err != nil {
		return nil, err
	}
	found := time.Now()
	c, err := s.BeginWith(p, in, clock)
	if err == nil {
		c.Exchange.Timing[signer.StageConfig] += found.Sub(start)
		c.Exchange.Timing.AddSince(signer.StageIdentify, found)
	}
	return c, err
}

// BeginWith is Begin for a provider already chosen (by name, in a dry run).
func (s *Snapshot) BeginWith(p *Provider, in Inbound, clock signer.Clock) (*Call, error) {
	tenant := p.Tenant
	credential := ""
	// One pass: refuse spoofed keygate headers, take the tenant key, and copy the others.
	// Every value is copied into one backing array (one allocation, not one per header), each
	// header's slice capped at its own values so an append by a step cannot reach the next.
	var hc headerCopy
	if in.Fields != nil {
		names, nvals := 0, 1 // room for Accept-Encoding
		for _, f := range in.Fields {
			if !isPseudo(f.Name) {
				names, nvals = names+1, nvals+len(f.Values)
			}
		}
		hc.header, hc.backing = make(http.Header, names+1), make([]string, 0, nvals)
		for _, f := range in.Fields {
			if isPseudo(f.Name) {
				continue
			}
			if err := hc.add(f.Name, f.Values); err != nil {
				return nil, err
			}
		}
	} else {
		nvals := 1 // room for Accept-Encoding
		for _, vals := range in.Header {
			nvals += len(vals)
		}
		hc.header, hc.backing = make(http.Header, len(in.Header)+1), make([]string, 0, nvals)
		for name, vals := range in.Header {
			if err := hc.add(name, vals); err != nil {
				return nil, err
			}
		}
	}
	header, backing, credentials := hc.header, hc.backing, hc.credentials
	if len(credentials) > 1 {
		return nil, failure.New(failure.Unauthenticated, "tenant", "more than one %s header", tenancy.TenantKeyHeader)
	} else if len(credentials) == 1 {
		credential = credentials[0]
	}
	if op := in.Operator; op != nil {
		if op.Tenant != "" && op.Tenant != p.Tenant {
			return nil, failure.New(failure.Forbidden, "tenant", "provider %q does not belong to tenant %q", p.Name, op.Tenant)
		}
	} else if s.Tenancy != nil && p.Refusal == nil { // a callback's caller is the provider: its signature is its identity
		t, err := s.Tenancy.Authenticate(credential, in.SPIFFEID)
		if err != nil {
			return nil, err
		}
		if err := s.Tenancy.Authorize(t, p.Tenant); err != nil {
			return nil, err
		}
		tenant = t
	}
	if in.BodySize > s.MaxBody {
		return nil, failure.New(failure.TooLarge, "identify", "request body of %d bytes is over the limit of %d", in.BodySize, s.MaxBody)
	}
	// The caller's path goes under the provider's prefix: it must stay there whatever the
	// upstream resolves (no dot segments, empty segments, backslashes or encoded slashes).
	path := in.Path
	if err := routing.CheckPath(path); err != nil {
		return nil, failure.New(failure.BadRequest, "path", "request path %q %v", path, err)
	}
	if !p.ScriptOwnsPath {
		path = p.Upstream.Path + path
	}
	if p.Needs.ResponseBody {
		// Response steps read the body as the provider's bytes: ask for no content coding (Envoy
		// passes the caller's Accept-Encoding through, and a gzip answer cannot be decrypted or
		// verified). Set before the steps run, so a signature over the headers covers it.
		backing = append(backing, "identity")
		header["Accept-Encoding"] = backing[len(backing)-1 : len(backing) : len(backing)] // = Set
	}
	// The call, its exchange and its request in one allocation (three were 2 of a request's
	// allocations more): they live and die together, and each is used through its pointer.
	var st *callState
	var ts *tokenCallState
	if p.Tokens != nil {
		ts = new(tokenCallState)
		st = &ts.callState
	} else {
		st = new(callState)
	}
	st.call = Call{Snapshot: s, Provider: p}
	st.req = signer.Request{Method: in.Method, Scheme: p.Upstream.Scheme, Authority: p.Upstream.Host, Path: path, Header: header}
	st.x = signer.Exchange{Tenant: tenant, Provider: p.Name, Request: &st.req, Keys: p.Keys, Clock: clock}
	call := &st.call
	call.Exchange = &st.x
	if ts != nil {
		ts.tokens, ts.inbound = exchangeTokens{src: p.Tokens, fetch: p.scriptTokenFetch}, in
		call.tokens, call.inbound = &ts.tokens, &ts.inbound
		call.Exchange.Tokens = call.tokens // only when set: a typed nil would look like a token source
	}
	return call, nil
}

// headerCopy is BeginWith's copy of the caller's headers, built one header at a time.
type headerCopy struct {
	header      http.Header
	backing     []string // every copied value
	credentials []string // the tenant key header's values
}

// add copies one header, takes the tenant key, or refuses a header the caller may not send.
func (hc *headerCopy) add(name string, vals []string) error {
	switch {
	case isRetryHeader(name):
		// Envoy's router honours these from any caller it does not treat as an edge request
		// (use_remote_address is off): they would replay a signed request on a reset or a
		// 5xx. Which failures are safe to retry is keygate's choice (xds retryOn).
		return failure.New(failure.BadRequest, "identify", "header %q steers Envoy's retries; keygate decides which failures may be retried", strings.ToLower(name))
	case !tenancy.IsKeygateHeader(name):
		from := len(hc.backing)
		hc.backing = append(hc.backing, vals...)
		hc.header[CanonicalKey(name)] = hc.backing[from:len(hc.backing):len(hc.backing)]
	case tenancy.IsTenantKeyHeader(name): // ASCII case only: a look-alike is refused below
		hc.credentials = append(hc.credentials, vals...)
	default:
		return failure.New(failure.Forbidden, "tenant", "header %q is reserved for keygate", strings.ToLower(name))
	}
	return nil
}

// isPseudo reports whether a header name is an HTTP/2 pseudo-header (":path"): not a header.
func isPseudo(name string) bool { return strings.HasPrefix(name, ":") }

// SignRequest runs the provider's steps over the request, with body as its body (nil when the
// request has none). On error nothing may leave.
func (c *Call) SignRequest(ctx context.Context, body []byte) error {
	if int64(len(body)) > c.Snapshot.MaxBody {
		return failure.New(failure.TooLarge, "identify", "request body of %d bytes is over the limit of %d", len(body), c.Snapshot.MaxBody)
	}
	if c.tokens != nil {
		c.body = body            // the caller's request as sent, for the one retry (only a token is retried)
		defer c.tokens.release() // a script that fetched no token lets the next request try
	}
	c.Exchange.Request.SetBody(body)
	start, mark := time.Now(), c.Exchange.Timing.Sum()
	defer c.Exchange.Timing.AddExclusive(signer.StageCrypto, start, mark)
	for i, st := range c.Provider.Steps {
		if err := st.SignRequest(ctx, c.Exchange); err != nil {
			return stageDefault(err, "sign", c.Provider.Schemes[i])
		}
	}
	// The call lives until the stream ends: keep the signed body alone, not the parsed view
	// that still points into the caller's body and holds the steps' encoded fields (a large
	// body would otherwise be held about three times over while its answer is awaited).
	c.Exchange.Request.Settle()
	return c.checkSignedSize(len(body))
}

// RequestSent is called once the signed request has been handed on: its body is no longer
// needed (response steps read the response; the one retry re-signs the caller's body, kept
// apart), so a large body is not held while the provider answers.
func (c *Call) RequestSent() { c.Exchange.Request.SetBody(nil) }

// RequestBodySize is the size of the caller's body the call keeps for the one retry (0 for a
// provider without a token source, which keeps none).
func (c *Call) RequestBodySize() int64 { return int64(len(c.body)) }

// checkSignedSize refuses a body that signing grew past what keygate can hand Envoy, naming
// the limit and, from this body's growth, about how large a body of this kind may be.
func (c *Call) checkSignedSize(in int) error {
	limit := c.Snapshot.MaxSignedBody()
	out := int64(len(c.Exchange.Request.Body()))
	if out <= limit {
		return nil
	}
	fits := int64(in) * limit / out
	return failure.New(failure.TooLarge, "sign",
		"signing grew the %d-byte body to %d bytes, over the %d bytes keygate can pass on (limits.max_body_bytes %d plus %d KiB); "+
			"provider %q accepts bodies like this one up to about %d bytes (docs/limits.md)",
		in, out, limit, c.Snapshot.MaxBody, (MessageHeadroom-headerBudget)>>10, c.Provider.Name, fits)
}

// WantsResponseBody reports whether response processing reads the body.
func (c *Call) WantsResponseBody() bool { return c.Provider.Needs.ResponseBody }

// ProcessResponse runs the response steps, last step first, over the provider's response. A
// status the token source is told to retry on invalidates the token first, so the next
// request fetches a fresh one (the ext_proc server retries once before it gets here: Retry).
func (c *Call) ProcessResponse(ctx context.Context, resp *signer.Response) error {
	c.Exchange.Response = resp
	start, mark := time.Now(), c.Exchange.Timing.Sum()
	defer c.Exchange.Timing.AddExclusive(signer.StageCrypto, start, mark)
	if c.Exchange.Tokens != nil && slices.Contains(c.Provider.RetryOn, resp.Status) {
		c.Exchange.Tokens.Invalidate(ctx)
	}
	if err := checkContentCoding(c.Provider, resp); err != nil {
		return err
	}
	for i := len(c.Provider.Steps) - 1; i >= 0; i-- {
		rs, ok := c.Provider.Steps[i].(signer.ResponseStep)
		if !ok {
			continue
		}
		if err := rs.ProcessResponse(ctx, c.Exchange); err != nil {
			return stageDefault(err, "response", c.Provider.Schemes[i])
		}
	}
	return nil
}

// stageDefault makes sure err is a classified failure naming where it happened; a step that
// returned an unclassified error is a bug in that step, reported as 500.
func stageDefault(err error, stage, scheme string) error {
	if failure.StageOf(err) != "" {
		return err
	}
	return failure.Wrap(failure.KindOf(err), stage, err, "scheme "+scheme)
}

// checkContentCoding refuses a response body that response steps would read in a content
// coding: keygate asked for identity, and decoding gzip here would be a second parser of what
// the caller finally receives. The error names the coding.
func checkContentCoding(p *Provider, resp *signer.Response) error {
	if !p.Needs.ResponseBody || len(resp.Body) == 0 {
		return nil
	}
	for _, v := range resp.Header.Values("Content-Encoding") {
		for _, coding := range strings.Split(v, ",") {
			if c := strings.TrimSpace(coding); c != "" && !strings.EqualFold(c, "identity") {
				return failure.New(failure.BadGateway, "response", "the provider answered with content-encoding %q although keygate asked for identity; keygate cannot process a coded body", c)
			}
		}
	}
	return nil
}

// retryHeaders are the request headers with which a caller sets Envoy's retry policy
// (router's RetryStateImpl reads them from the request). The retriable status codes and header
// names are merged into the route's own lists whatever the route says: a signed cluster's
// route retries retriable-status-codes (the token's 401), so a caller's 5xx or 200 there
// would submit a signed request twice.
var retryHeaders = []string{"x-envoy-retry-on", "x-envoy-retry-grpc-on", "x-envoy-max-retries", "x-envoy-hedge-on-per-try-timeout",
	"x-envoy-retriable-status-codes", "x-envoy-retriable-header-names"}

// isRetryHeader compares without lower-casing name (a copy per header and request).
func isRetryHeader(name string) bool {
	for _, h := range retryHeaders {
		if strings.EqualFold(name, h) {
			return true
		}
	}
	return false
}
