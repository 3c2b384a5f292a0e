package gateway

import (
	"math/rand/v2"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/keygate/keygate/internal/failure"
	"github.com/keygate/keygate/internal/routing"
	"github.com/keygate/keygate/internal/tenancy"
	"github.com/keygate/keygate/signer"
)

// refBeginWith is BeginWith as it was before the seventh performance round (headers from an
// http.Header only), the reference TestBeginWithFieldsMatchesReference holds BeginWith to.
func (s *Snapshot) refBeginWith(p *Provider, in Inbound, clock signer.Clock) (*Call, error) {
	tenant := p.Tenant
	credential := ""
	// One pass: refuse spoofed keygate headers, take the tenant key, and copy the others.
	header := make(http.Header, len(in.Header)+1)
	// Every value is copied into one backing array (one allocation, not one per header), each
	// header's slice capped at its own values so an append by a step cannot reach the next.
	nvals := 1 // room for Accept-Encoding
	for _, vals := range in.Header {
		nvals += len(vals)
	}
	backing := make([]string, 0, nvals)
	var credentials []string
	for name, vals := range in.Header {
		switch {
		case isRetryHeader(name):
			// Envoy's router honours these from any caller it does not treat as an edge request
			// (use_remote_address is off): they would replay a signed request on a reset or a
			// 5xx. Which failures are safe to retry is keygate's choice (xds retryOn).
			return nil, failure.New(failure.BadRequest, "identify", "header %q steers Envoy's retries; keygate decides which failures may be retried", strings.ToLower(name))
		case !tenancy.IsKeygateHeader(name):
			from := len(backing)
			backing = append(backing, vals...)
			header[http.CanonicalHeaderKey(name)] = backing[from:len(backing):len(backing)]
		case strings.EqualFold(name, tenancy.TenantKeyHeader):
			credentials = append(credentials, vals...)
		default:
			return nil, failure.New(failure.Forbidden, "tenant", "header %q is reserved for keygate", strings.ToLower(name))
		}
	}
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
	// (The call built as BeginWith builds it now: the test compares what the call holds.)
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
		call.Exchange.Tokens = call.tokens
	}
	return call, nil
}

// fieldNames are the lower-case names fields are drawn from: Envoy's, keygate's own, the retry
// headers Envoy's router honours, pseudo-headers, and names that are not tokens.
var fieldNames = []string{":path", ":method", ":authority", ":scheme", ":", "content-type", "content-length",
	"x-request-id", "accept-encoding", "x-a", "x-keygate-tenant-key", "x-keygate-tenant", "x-keygate-phase",
	"x_keygate_tenant", "x-keygate-", "x-envoy-retry-on", "x-envoy-max-retries", "x-envoy-retriable-header-names",
	"x-envoy-original-path", "x_under", "x a", "\ufffd", "äbc", "", "te", strings.Repeat("x-long", 9)}

// refFields are a request's fields as the ext_proc server reads them (distinct lower-case names
// in the order sent) and the http.Header it built from them before: canonical keys, no
// pseudo-headers.
func refFields(r *rand.Rand) ([]HeaderField, http.Header) {
	fields := []HeaderField{} // not nil: Begin reads the fields
	view := http.Header{}
	for _, i := range r.Perm(len(fieldNames))[:r.IntN(len(fieldNames))] {
		name := fieldNames[i]
		if r.IntN(4) == 0 {
			continue
		}
		var vals []string
		for j := range 1 + r.IntN(3)*r.IntN(2) {
			vals = append(vals, []string{"v", "", "kg_key", "gzip", strings.Repeat("w", 70)}[(i+j)%5])
		}
		fields = append(fields, HeaderField{Name: name, Values: vals})
		if !strings.HasPrefix(name, ":") {
			view[http.CanonicalHeaderKey(name)] = vals
		}
	}
	return fields, view
}

// offends reports whether BeginWith refuses a header by its name alone.
func offends(name string) bool {
	return isRetryHeader(name) || tenancy.IsKeygateHeader(name) && !strings.EqualFold(name, tenancy.TenantKeyHeader)
}

// TestBeginWithFieldsMatchesReference: Begin given Envoy's fields prepares the same call as the
// implementation it replaced given the http.Header built from them (the same headers copied,
// the same tenant key taken, the same refusals), and given an http.Header still does. A map has
// no order: with several refused headers the reference names any one of them; from fields, it
// is the first Envoy sent.
func TestBeginWithFieldsMatchesReference(t *testing.T) {
	snap, err := compile(t, twoProviders)
	if err != nil {
		t.Fatal(err)
	}
	pay, _ := snap.ProviderByName("pay")
	answers := *pay
	answers.Needs.ResponseBody = true // Accept-Encoding: identity is added
	r := rand.New(rand.NewPCG(18, 10))
	for range 5000 {
		fields, view := refFields(r)
		before := make([]HeaderField, len(fields))
		for i, f := range fields {
			before[i] = HeaderField{Name: f.Name, Values: append([]string(nil), f.Values...)}
		}
		p := []*Provider{pay, &answers}[r.IntN(2)]
		in := Inbound{Method: "POST", Authority: "pay.egress.local", Path: "/charge", BodySize: int64(r.IntN(3)) - 1}
		withFields, withHeader, ref := in, in, in
		withFields.Fields, withHeader.Header, ref.Header = fields, view, view
		// With several refused headers, the reference's answer for the first one alone.
		var refused []string
		for _, f := range fields {
			if !strings.HasPrefix(f.Name, ":") && offends(f.Name) {
				refused = append(refused, f.Name)
			}
		}
		if len(refused) > 1 {
			ref.Header = http.Header{}
			for k, v := range view {
				if !offends(k) || strings.EqualFold(k, refused[0]) {
					ref.Header[k] = v
				}
			}
		}
		want, wantErr := snap.refBeginWith(p, ref, signer.SystemClock())
		for _, in := range []Inbound{withFields, withHeader} {
			got, gotErr := snap.BeginWith(p, in, signer.SystemClock())
			if in.Fields == nil && len(refused) > 1 {
				if gotErr == nil {
					t.Fatalf("fields %q: no refusal from the header", fields)
				}
				continue // a map's order: any one of the refused headers
			}
			if (gotErr == nil) != (wantErr == nil) || gotErr != nil && (gotErr.Error() != wantErr.Error() || failure.Status(gotErr) != failure.Status(wantErr)) {
				t.Fatalf("fields %q (header %v): error %v, reference %v", fields, in.Fields == nil, gotErr, wantErr)
			}
			if gotErr != nil {
				continue
			}
			g, w := got.Exchange, want.Exchange
			if !reflect.DeepEqual(g.Request.Header, w.Request.Header) || g.Request.Method != w.Request.Method ||
				g.Request.Path != w.Request.Path || g.Request.Authority != w.Request.Authority || g.Tenant != w.Tenant {
				t.Fatalf("fields %q (header %v): request %v %s %q, reference %v %s %q", fields, in.Fields == nil,
					g.Request.Header, g.Request.Path, g.Tenant, w.Request.Header, w.Request.Path, w.Tenant)
			}
			// A step's append to one header does not reach another's values, nor the fields.
			for k := range g.Request.Header {
				g.Request.Header[k] = append(g.Request.Header[k], "appended")
			}
			if !slices.EqualFunc(fields, before, func(a, b HeaderField) bool { return a.Name == b.Name && slices.Equal(a.Values, b.Values) }) {
				t.Fatalf("fields %q: changed by the call's header (were %q)", fields, before)
			}
			for k, v := range g.Request.Header {
				if v[len(v)-1] != "appended" || len(v) > 1 && v[len(v)-2] == "appended" {
					t.Fatalf("fields %q: header %s = %q after one append each", fields, k, v)
				}
			}
		}
	}
}

// TestRetryOfACallWithoutTokensFailsClosed: only a token provider's call keeps the caller's
// request for the one retry; asked to retry any other, a call refuses instead of panicking.
func TestRetryOfACallWithoutTokensFailsClosed(t *testing.T) {
	snap, err := compile(t, twoProviders)
	if err != nil {
		t.Fatal(err)
	}
	call, err := snap.Begin(Inbound{Method: "GET", Authority: "pay.egress.local", Path: "/x"}, signer.SystemClock())
	if err != nil {
		t.Fatal(err)
	}
	if call.ShouldRetry(401) {
		t.Fatal("a provider without a token source would be retried")
	}
	if _, err := call.Retry(t.Context(), http.DefaultClient, signer.SystemClock()); failure.Status(err) != 500 {
		t.Fatalf("Retry of a call without tokens: %v, want an internal error", err)
	}
}
