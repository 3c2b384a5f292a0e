package gateway

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/internal/secret"
	"github.com/keygate/keygate/signer"
)

// countingTokens hands out tok-1, tok-2, ...: each attempt's signature can be told apart.
type countingTokens struct{ n int }

func (c *countingTokens) Token(context.Context) (secret.Value, error) {
	c.n++
	return secret.FromString(fmt.Sprintf("tok-%d", c.n)), nil
}
func (c *countingTokens) Load(context.Context) (secret.Value, bool)         { return secret.Value{}, false }
func (*countingTokens) Save(context.Context, secret.Value, time.Time) error { return nil }
func (*countingTokens) Invalidate(context.Context)                          {}

// querySigStep signs in the query: ts only when absent (as steps keep a caller's timestamp),
// sig over the token and ts.
type querySigStep struct{ clock *int }

func (querySigStep) Needs() signer.Needs { return signer.Needs{} }
func (s querySigStep) SignRequest(ctx context.Context, x *signer.Exchange) error {
	tok, err := x.Tokens.Token(ctx)
	if err != nil {
		return err
	}
	q, _ := url.ParseQuery(x.Request.RawQuery())
	*s.clock++
	if q.Get("ts") == "" {
		q.Set("ts", fmt.Sprint(*s.clock))
	}
	q.Set("sig", string(tok.Reveal())+"@"+q.Get("ts"))
	x.Request.SetRawQuery(q.Encode())
	return nil
}

// TestUpstreamRetryDropsAStaleQuerySignature: a router retry starts from the previous attempt's
// request, whose query carries that attempt's timestamp and signature. The retry must be
// signed over its own fresh values only, each parameter once: no stale signature or
// timestamp survives, and the caller's own parameters stay.
func TestUpstreamRetryDropsAStaleQuerySignature(t *testing.T) {
	clock := 0
	toks := &countingTokens{}
	c := &Compiler{
		Catalog: signer.Catalog{"qsig": func(signer.Build) (signer.Step, error) { return querySigStep{&clock}, nil }},
		Tokens: func(string, string, *config.TokenSource, signer.Keys, map[string]string) (signer.TokenSource, error) {
			return toks, nil
		},
	}
	snap, err := compileWith(t, c, `
providers:
  - {name: pay, hosts: [pay.local], upstream: {url: "https://pay.example/api"}, token: {type: http, url: "https://pay.example/token"}, signing: [{scheme: qsig}]}
`)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := snap.ProviderByName("pay")
	attempt := func(path string) string {
		call, err := snap.BeginUpstream(p, Attempt{Method: "GET", Authority: "pay.example", Path: path, BodySize: -1}, signer.SystemClock())
		if err != nil {
			t.Fatal(err)
		}
		if err := call.SignAttempt(context.Background(), nil); err != nil {
			t.Fatal(err)
		}
		return call.Exchange.Request.Path
	}
	first := attempt("/api/x?a=1")
	second := attempt(first)
	_, q1, _ := strings.Cut(first, "?")
	_, q2, _ := strings.Cut(second, "?")
	v1, _ := url.ParseQuery(q1)
	v2, _ := url.ParseQuery(q2)
	for _, k := range []string{"a", "ts", "sig"} {
		if len(v2[k]) != 1 {
			t.Fatalf("retry query %q: %s appears %d times, want once", q2, k, len(v2[k]))
		}
	}
	if v2.Get("a") != "1" || v2.Get("ts") == v1.Get("ts") || v2.Get("sig") == v1.Get("sig") ||
		v2.Get("sig") != strings.Split(v2.Get("sig"), "@")[0]+"@"+v2.Get("ts") {
		t.Fatalf("retry query %q after %q: want the caller's a, a fresh ts and a signature over it", q2, q1)
	}
}
