package gateway

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/internal/secret"
	"github.com/keygate/keygate/signer"
)

// fixedTokens is a token source that always has the one token.
type fixedTokens struct{ token string }

func (f fixedTokens) Token(context.Context) (secret.Value, error) {
	return secret.FromString(f.token), nil
}
func (f fixedTokens) Load(context.Context) (secret.Value, bool) {
	return secret.FromString(f.token), true
}
func (fixedTokens) Save(context.Context, secret.Value, time.Time) error { return nil }
func (fixedTokens) Invalidate(context.Context)                          {}

// tokenCompiler has the real token scheme and a token source for every provider that declares one.
func tokenCompiler() *Compiler {
	return &Compiler{
		Catalog: signer.Catalog{"token": signer.Builtins()["token"]},
		Tokens: func(_, provider string, _ *config.TokenSource, _ signer.Keys, _ map[string]string) (signer.TokenSource, error) {
			return fixedTokens{token: "tok-" + provider}, nil
		},
	}
}

func compileWith(t *testing.T, c *Compiler, yaml string) (*Snapshot, error) {
	t.Helper()
	f, err := config.Parse([]byte(yaml))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return c.Compile(f, Meta{})
}

// tokenProviderConfig is one provider, api, signed with the token of its own http token source.
const tokenProviderConfig = `
providers:
  - name: api
    hosts: [api.egress.local]
    upstream: {url: "https://api.example"}
    token: {type: http, url: "https://api.example/token"}
    signing: [{scheme: token}]
`

// TestTokenProviderSignsWithItsOwnToken: a provider that declares a token source hands it to
// the request's steps, and the token scheme puts that provider's token on the request.
func TestTokenProviderSignsWithItsOwnToken(t *testing.T) {
	snap, err := compileWith(t, tokenCompiler(), tokenProviderConfig)
	if err != nil {
		t.Fatal(err)
	}
	call, err := snap.Begin(Inbound{Method: "GET", Authority: "api.egress.local", Path: "/v1"}, signer.SystemClock())
	if err != nil {
		t.Fatal(err)
	}
	if call.Exchange.Tokens == nil {
		t.Fatal("the exchange of a provider with a token source has no token source")
	}
	if err := call.SignRequest(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	if got := call.Exchange.Request.Header.Get("Authorization"); got != "Bearer tok-api" {
		t.Errorf("Authorization = %q, want the provider's token", got)
	}
}

// TestProviderWithoutTokenSourceHasNoTokens: a provider that declares no token source gets no
// token source on its exchange (not an empty one that a step would call), and a token step in it
// is a configuration error naming the step, not a request that fails later.
func TestProviderWithoutTokenSourceHasNoTokens(t *testing.T) {
	snap, err := compileWith(t, tokenCompiler(), `
providers:
  - name: plain
    hosts: [plain.egress.local]
    upstream: {url: "https://plain.example"}
`)
	if err != nil {
		t.Fatal(err)
	}
	call, err := snap.Begin(Inbound{Method: "GET", Authority: "plain.egress.local", Path: "/"}, signer.SystemClock())
	if err != nil {
		t.Fatal(err)
	}
	if call.Exchange.Tokens != nil {
		t.Errorf("exchange of a provider without a token source has token source %#v", call.Exchange.Tokens)
	}

	_, err = compileWith(t, tokenCompiler(), `
providers:
  - name: plain
    hosts: [plain.egress.local]
    upstream: {url: "https://plain.example"}
    signing: [{scheme: token}]
`)
	if err == nil || !strings.Contains(err.Error(), "providers[0].signing[0]") || !strings.Contains(err.Error(), "no token source") {
		t.Fatalf("token step without a token source: error = %v, want one naming providers[0].signing[0]", err)
	}
}
