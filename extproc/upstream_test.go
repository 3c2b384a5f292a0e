package extproc

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/internal/failure"
	"github.com/keygate/keygate/internal/gateway"
	"github.com/keygate/keygate/internal/routing"
	"github.com/keygate/keygate/internal/secret"
	"github.com/keygate/keygate/signer"
)

// fakeTokens issues tok-1, tok-2, ...; InvalidateToken drops only the token named.
type fakeTokens struct {
	mu      sync.Mutex
	n       int
	current string
	fail    bool
}

func (f *fakeTokens) Token(context.Context) (secret.Value, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail {
		return secret.Value{}, failure.New(failure.Unavailable, "token", "token endpoint down")
	}
	if f.current == "" {
		f.n++
		f.current = fmt.Sprintf("tok-%d", f.n)
	}
	return secret.New([]byte(f.current)), nil
}
func (f *fakeTokens) Load(ctx context.Context) (secret.Value, bool) {
	v, err := f.Token(ctx)
	return v, err == nil
}
func (f *fakeTokens) Save(context.Context, secret.Value, time.Time) error { return nil }
func (f *fakeTokens) Invalidate(context.Context)                          { f.mu.Lock(); f.current = ""; f.mu.Unlock() }
func (f *fakeTokens) InvalidateToken(_ context.Context, v secret.Value) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if string(v.Reveal()) == f.current {
		f.current = ""
	}
}

// tokenStep writes the bearer token, a timestamp it keeps when present (as alipay's
// setDefault does) and a signature over both.
type tokenStep struct{ clock *int }

func (tokenStep) Needs() signer.Needs { return signer.Needs{} }
func (s tokenStep) SignRequest(ctx context.Context, x *signer.Exchange) error {
	tok, err := x.Tokens.Token(ctx)
	if err != nil {
		return err
	}
	*s.clock++
	if x.Request.Header.Get("X-Ts") == "" {
		x.Request.Header.Set("X-Ts", fmt.Sprint(*s.clock))
	}
	x.Request.Header.Set("Authorization", "Bearer "+string(tok.Reveal()))
	x.Request.Header.Set("X-Sig", string(tok.Reveal())+"@"+x.Request.Header.Get("X-Ts"))
	return nil
}

func upstreamProcessor(t *testing.T, toks *fakeTokens) (*processor, *gateway.Snapshot) {
	t.Helper()
	f, err := config.Parse([]byte(`
providers:
  - {name: pay, hosts: [pay.local], upstream: {url: "https://pay.example/api"}, token: {type: http, url: "https://pay.example/token"}, signing: [{scheme: tok}]}
  - {name: other, hosts: [other.local], upstream: {url: "https://other.example"}, token: {type: http, url: "https://other.example/token"}, signing: [{scheme: tok}]}
  - {name: plain, hosts: [plain.local], upstream: {url: "https://plain.example"}, signing: [{scheme: header}]}
`))
	if err != nil {
		t.Fatal(err)
	}
	clock := 0
	c := &gateway.Compiler{
		Catalog: signer.Catalog{
			"tok":    func(signer.Build) (signer.Step, error) { return tokenStep{&clock}, nil },
			"header": func(signer.Build) (signer.Step, error) { return headerStep{}, nil },
		},
		Tokens: func(string, string, *config.TokenSource, signer.Keys, map[string]string) (signer.TokenSource, error) {
			return toks, nil
		},
	}
	snap, err := c.Compile(f, gateway.Meta{})
	if err != nil {
		t.Fatal(err)
	}
	p := newProcessor(context.Background(), snap, Options{}.withDefaults())
	p.upstream = true
	return p, snap
}

func withAttrs(msg *extprocv3.ProcessingRequest, attrs map[string]string) *extprocv3.ProcessingRequest {
	fields := map[string]*structpb.Value{}
	for k, v := range attrs {
		fields[k] = structpb.NewStringValue(v)
	}
	msg.Attributes = map[string]*structpb.Struct{attributesNamespace: {Fields: fields}}
	return msg
}

func attemptMsg(cluster, path string, eos bool, extra ...string) *extprocv3.ProcessingRequest {
	hs := []*corev3.HeaderValue{
		{Key: ":method", RawValue: []byte("POST")}, {Key: ":path", RawValue: []byte(path)},
		{Key: ":authority", RawValue: []byte("pay.example")},
	}
	for i := 0; i+1 < len(extra); i += 2 {
		hs = append(hs, &corev3.HeaderValue{Key: extra[i], RawValue: []byte(extra[i+1])})
	}
	msg := &extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_RequestHeaders{
		RequestHeaders: &extprocv3.HttpHeaders{Headers: &corev3.HeaderMap{Headers: hs}, EndOfStream: eos}}}
	return withAttrs(msg, map[string]string{AttrClusterName: cluster})
}

func bodyMsg(b string) *extprocv3.ProcessingRequest {
	return &extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_RequestBody{
		RequestBody: &extprocv3.HttpBody{Body: []byte(b), EndOfStream: true}}}
}

func statusMsg(code string) *extprocv3.ProcessingRequest {
	return &extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_ResponseHeaders{
		ResponseHeaders: &extprocv3.HttpHeaders{Headers: &corev3.HeaderMap{Headers: []*corev3.HeaderValue{{Key: ":status", RawValue: []byte(code)}}}}}}
}

// Two router attempts as Envoy's doRetry makes them: the second starts from the router's
// headers, which carry the first attempt's mutations. The 401 drops exactly the first token,
// and the second attempt's signature covers only its own values (a fresh token and timestamp),
// with every header overwritten, never appended.
func TestUpstreamPhase_EachAttemptSignedAfresh(t *testing.T) {
	toks := &fakeTokens{}
	p, snap := upstreamProcessor(t, toks)
	cluster := routing.SignedCluster("pay")
	resp, err := p.handle(attemptMsg(cluster, "/api/pay", false))
	if err != nil {
		t.Fatal(err)
	}
	if resp.GetRequestHeaders() == nil || resp.GetRequestHeaders().GetResponse() != nil {
		t.Fatalf("headers answer %v: the signature goes with the body", resp)
	}
	resp, err = p.handle(bodyMsg(`{"n":1}`))
	if err != nil {
		t.Fatal(err)
	}
	first := sets(resp.GetRequestBody().GetResponse().GetHeaderMutation())
	if first["authorization"] != "Bearer tok-1" || first["x-sig"] != "tok-1@"+first["x-ts"] {
		t.Fatalf("attempt 1 mutation %v", first)
	}
	if _, err := p.handle(statusMsg("401")); err != nil {
		t.Fatal(err)
	}

	p2 := newProcessor(context.Background(), snap, Options{}.withDefaults())
	p2.upstream = true
	if _, err := p2.handle(attemptMsg(cluster, "/api/pay", false,
		"authorization", first["authorization"], "x-ts", first["x-ts"], "x-sig", first["x-sig"])); err != nil {
		t.Fatal(err)
	}
	resp, err = p2.handle(bodyMsg(`{"n":1}`))
	if err != nil {
		t.Fatal(err)
	}
	mut := resp.GetRequestBody().GetResponse().GetHeaderMutation()
	second := sets(mut)
	if second["authorization"] != "Bearer tok-2" || second["x-ts"] == first["x-ts"] || second["x-sig"] != "tok-2@"+second["x-ts"] {
		t.Fatalf("attempt 2 mutation %v after %v: want a fresh token and timestamp under the signature", second, first)
	}
	for _, h := range mut.GetSetHeaders() {
		//lint:ignore SA1019 ext_proc reads only the legacy append flag (headers.go setHeader).
		if h.GetAppend().GetValue() {
			t.Errorf("header %s appended, want overwritten", h.GetHeader().GetKey())
		}
	}
}

// Attacks on the upstream phase; each must end the stream non-OK (the attempt never leaves).
func TestUpstreamPhase_Refusals(t *testing.T) {
	for _, tc := range []struct {
		name string
		run  func(p *processor) error
		want string
	}{
		{"untrusted peer", func(p *processor) error {
			p.trustPeer = false
			_, err := p.handle(attemptMsg(routing.SignedCluster("pay"), "/api/x", true))
			return err
		}, "untrusted peer"},
		{"no cluster attribute", func(p *processor) error {
			_, err := p.handle(attemptMsg("", "/api/x", true))
			return err
		}, "not a signed cluster"},
		{"an unsigned cluster", func(p *processor) error {
			_, err := p.handle(attemptMsg("provider_pay", "/api/x", true))
			return err
		}, "not a signed cluster"},
		{"a signed cluster of no provider", func(p *processor) error {
			_, err := p.handle(attemptMsg(routing.SignedCluster("ghost"), "/api/x", true))
			return err
		}, "names no configured provider"},
		{"a provider without a token", func(p *processor) error {
			_, err := p.handle(attemptMsg(routing.SignedCluster("plain"), "/x", true))
			return err
		}, "cannot be signed upstream"},
		{"a keygate header: the downstream phase did not run", func(p *processor) error {
			_, err := p.handle(attemptMsg(routing.SignedCluster("pay"), "/api/x", true, "x-keygate-tenant-key", "k"))
			return err
		}, "downstream phase did not run"},
		{"a path outside the provider's prefix", func(p *processor) error {
			_, err := p.handle(attemptMsg(routing.SignedCluster("pay"), "/admin", true))
			return err
		}, "not under the provider's prefix"},
		{"trailers and no body", func(p *processor) error {
			if _, err := p.handle(attemptMsg(routing.SignedCluster("pay"), "/api/x", false)); err != nil {
				return nil
			}
			_, err := p.handle(&extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_RequestTrailers{RequestTrailers: &extprocv3.HttpTrailers{}}})
			return err
		}, "trailers and no body"},
		{"the answer of an unsigned attempt", func(p *processor) error {
			if _, err := p.handle(attemptMsg(routing.SignedCluster("pay"), "/api/x", false)); err != nil {
				return nil
			}
			_, err := p.handle(statusMsg("200"))
			return err
		}, "did not sign"},
		{"signing fails", func(p *processor) error {
			p.snap.Providers()[0].Tokens.(*fakeTokens).fail = true
			_, err := p.handle(attemptMsg(routing.SignedCluster("pay"), "/api/x", true))
			return err
		}, "token endpoint down"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, _ := upstreamProcessor(t, &fakeTokens{})
			err := tc.run(p)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one naming %q", err, tc.want)
			}
		})
	}
}

// The downstream phase of a request Envoy routes to a signed cluster: no signature, the
// rewrite and keygate's headers removed, no request body asked for, no keygate retry; a route
// of one provider to another provider's signed cluster, or a token that cannot be obtained,
// is refused downstream with an immediate response.
func TestDownstreamPhase_DefersSigningToASignedCluster(t *testing.T) {
	toks := &fakeTokens{}
	p, _ := upstreamProcessor(t, toks)
	p.upstream = false
	msg := withAttrs(headersMsg("pay.local", false), map[string]string{AttrClusterName: routing.SignedCluster("pay"), AttrRouteName: routing.RouteName("pay")})
	resp, err := p.handle(msg)
	if err != nil {
		t.Fatal(err)
	}
	mut := resp.GetRequestHeaders().GetResponse().GetHeaderMutation()
	got := sets(mut)
	if got[":path"] != "/api/x" || got[":authority"] != "pay.example" || got["authorization"] != "" || got["x-sig"] != "" {
		t.Fatalf("downstream mutation %v: want the rewrite and no signature", got)
	}
	if !strings.Contains(strings.Join(mut.GetRemoveHeaders(), ","), "x-keygate-tenant-key") {
		t.Errorf("removals %v: the tenant key must not reach the upstream phase", mut.GetRemoveHeaders())
	}
	mo := resp.GetModeOverride()
	if mo.GetRequestBodyMode() != 0 || mo.GetResponseHeaderMode().String() != "SKIP" {
		t.Errorf("mode override %v: no body, no response headers (the router retries)", mo)
	}
	if toks.n != 1 {
		t.Errorf("%d tokens fetched by the precheck, want 1", toks.n)
	}

	p, _ = upstreamProcessor(t, &fakeTokens{})
	p.upstream = false
	resp, _ = p.handle(withAttrs(headersMsg("pay.local", false), map[string]string{AttrClusterName: routing.SignedCluster("other"), AttrRouteName: routing.RouteName("pay")}))
	if ir := resp.GetImmediateResponse(); ir == nil || !strings.Contains(string(ir.GetBody()), "another provider") {
		t.Fatalf("route to another provider's signed cluster: %v", resp)
	}

	p, _ = upstreamProcessor(t, &fakeTokens{fail: true})
	p.upstream = false
	resp, _ = p.handle(withAttrs(headersMsg("pay.local", false), map[string]string{AttrClusterName: routing.SignedCluster("pay"), AttrRouteName: routing.RouteName("pay")}))
	if ir := resp.GetImmediateResponse(); ir == nil || ir.GetStatus().GetCode() != 503 {
		t.Fatalf("token unobtainable: %v, want an immediate 503 downstream", resp)
	}

	// Without the signed cluster (a bootstrap without the upstream filter) it signs here.
	p, _ = upstreamProcessor(t, &fakeTokens{})
	p.upstream = false
	resp, _ = p.handle(withAttrs(headersMsg("pay.local", true), map[string]string{AttrClusterName: "provider_pay", AttrRouteName: routing.RouteName("pay")}))
	if got := sets(resp.GetRequestHeaders().GetResponse().GetHeaderMutation()); got["authorization"] != "Bearer tok-1" {
		t.Fatalf("unsigned cluster: mutation %v, want keygate's signature", got)
	}
}
