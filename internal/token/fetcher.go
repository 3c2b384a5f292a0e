package token

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/internal/failure"
	"github.com/keygate/keygate/internal/secret"
	"github.com/keygate/keygate/signer"
)

// ErrScriptSource is CompileFetcher's answer for a `script` token source: the provider's script
// fetches and calls token_save itself (custom mode), so there is no Fetcher to compile.
var ErrScriptSource = errors.New("token source type script is fetched by the provider's script")

// SecretGetter resolves a provider's secret by the name its config gives it.
type SecretGetter interface {
	Secret(ctx context.Context, name string) (secret.Value, error)
}

// FetcherDeps are what a compiled fetcher uses at fetch time.
type FetcherDeps struct {
	HTTPClient *http.Client      // default: a client without a global timeout
	Keys       SecretGetter      // the provider's secrets (client_secret, {secret:NAME})
	Vars       map[string]string // the provider's plain values ({var:NAME})
	// Declared are the provider's secret names, checked at compile; nil skips the check.
	Declared []string
	Clock    func() time.Time // default time.Now
	Nonce    func() string    // {nonce}; default 32 random hex characters
}

func (d FetcherDeps) withDefaults() FetcherDeps {
	if d.HTTPClient == nil {
		d.HTTPClient = &http.Client{}
	}
	if d.Clock == nil {
		d.Clock = time.Now
	}
	if d.Nonce == nil {
		d.Nonce = randomNonce
	}
	return d
}

func randomNonce() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// CompileFetcher compiles a token source's config into a Fetcher, at config load. Errors name
// the field ("token.params.client_id: required").
func CompileFetcher(cfg *config.TokenSource, deps FetcherDeps) (Fetcher, error) {
	if cfg == nil {
		return nil, fmt.Errorf("token: no token source")
	}
	deps = deps.withDefaults()
	if cfg.Type == "script" {
		return nil, ErrScriptSource
	}
	u, err := url.Parse(cfg.URL)
	switch {
	case cfg.URL == "":
		return nil, fmt.Errorf("token.url: required")
	case err != nil:
		return nil, fmt.Errorf("token.url: not a URL")
	case (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		return nil, fmt.Errorf("token.url: want an absolute http or https URL")
	case u.User != nil:
		return nil, fmt.Errorf("token.url: must not carry credentials; use params")
	}
	switch cfg.Type {
	case "oauth2_client_credentials":
		return compileOAuth2(u, cfg.Params, deps)
	case "http":
		return compileHTTP(u, cfg.Params, deps)
	case "":
		return nil, fmt.Errorf("token.type: required")
	default:
		return nil, fmt.Errorf("token.type: %q is not one of oauth2_client_credentials, http, script", cfg.Type)
	}
}

// KeysOf adapts a provider's signer.Keys to SecretGetter.
func KeysOf(keys signer.Keys, tenant, provider string) SecretGetter {
	return exchangeKeys{keys: keys, tenant: tenant, provider: provider}
}

type exchangeKeys struct {
	keys             signer.Keys
	tenant, provider string
}

func (k exchangeKeys) Secret(ctx context.Context, name string) (secret.Value, error) {
	// The token fetch is not part of one request's exchange: a throwaway one carries the names.
	return k.keys.Secret(ctx, &signer.Exchange{Tenant: k.tenant, Provider: k.provider}, name)
}

// Provider compiles a provider's token source and returns its Source: the function
// gateway.Compiler.Tokens wants. A `script` source gets a Source whose fetch fails (the script
// fills it with token_save).
func (m *Manager) Provider(tenant, provider string, cfg *config.TokenSource, keys signer.Keys, vars map[string]string) (signer.TokenSource, error) {
	deps := FetcherDeps{HTTPClient: m.opts.HTTPClient, Vars: vars, Clock: m.opts.Clock}
	if keys != nil {
		deps.Keys = KeysOf(keys, tenant, provider)
		if n, ok := keys.(interface{ Names() []string }); ok {
			deps.Declared = n.Names()
		}
	}
	f, err := CompileFetcher(cfg, deps)
	if errors.Is(err, ErrScriptSource) {
		key := Key{Tenant: tenant, Provider: provider}
		f = FetcherFunc(func(context.Context) (Token, error) {
			return Token{}, failure.New(failure.Unavailable, stage, "%s has no token: its script fetches one with token_save", key)
		})
	} else if err != nil {
		return nil, err
	}
	return m.Source(tenant, provider, f, PolicyFrom(cfg)), nil
}
