package token

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/internal/failure"
	"github.com/keygate/keygate/internal/secret"
)

// oauth2Params are the params of an oauth2_client_credentials token source.
type oauth2Params struct {
	ClientID     string          `json:"client_id"`
	ClientSecret string          `json:"client_secret"`        // name of a provider secret
	Scope        string          `json:"scope,omitempty"`      // space-separated
	Audience     string          `json:"audience,omitempty"`   // sent as `audience` when set
	AuthStyle    string          `json:"auth_style,omitempty"` // basic (default, RFC 6749 2.3.1) | body
	DefaultTTL   config.Duration `json:"default_ttl,omitempty"`
}

// DefaultTTL is a token's lifetime when its endpoint does not say (no expires_in).
const DefaultTTL = 5 * time.Minute

// oauth2Fetcher is the RFC 6749 section 4.4 client credentials grant.
type oauth2Fetcher struct {
	url  *url.URL
	ep   string
	p    oauth2Params
	ttl  time.Duration
	deps FetcherDeps
}

func compileOAuth2(u *url.URL, raw []byte, deps FetcherDeps) (Fetcher, error) {
	var p oauth2Params
	if err := config.DecodeParams(raw, &p); err != nil {
		return nil, fmt.Errorf("token.params: %w", err)
	}
	switch {
	case p.ClientID == "":
		return nil, fmt.Errorf("token.params.client_id: required")
	case p.ClientSecret == "":
		return nil, fmt.Errorf("token.params.client_secret: required (the name of a provider secret)")
	case p.AuthStyle != "" && p.AuthStyle != "basic" && p.AuthStyle != "body":
		return nil, fmt.Errorf("token.params.auth_style: %q is not basic or body", p.AuthStyle)
	case deps.Keys == nil:
		return nil, fmt.Errorf("token.params.client_secret: the provider has no secrets to read it from")
	case deps.Declared != nil && !slices.Contains(deps.Declared, p.ClientSecret):
		return nil, fmt.Errorf("token.params.client_secret: %s", config.UndeclaredSecret(slices.Clone(deps.Declared)))
	}
	return &oauth2Fetcher{url: u, ep: endpoint(u), p: p, ttl: p.DefaultTTL.Or(DefaultTTL), deps: deps}, nil
}

func (f *oauth2Fetcher) Fetch(ctx context.Context) (Token, error) {
	clientSecret, err := readSecret(ctx, f.deps.Keys, f.p.ClientSecret)
	if err != nil {
		return Token{}, err
	}
	body := f.body(clientSecret)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, f.url.String(), bytes.NewReader(body))
	if err != nil {
		return Token{}, failure.Wrap(failure.Internal, stage, err, "building the token request")
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if f.p.AuthStyle != "body" {
		req.Header.Set("Authorization", basicAuth(f.p.ClientID, clientSecret))
	}
	now := f.deps.Clock()
	doc, desc, err := call(f.deps.HTTPClient, req, f.ep)
	if err != nil {
		return Token{}, err
	}
	v, _ := lookup(doc, []string{"access_token"})
	tok, ok := tokenString(v)
	if !ok {
		return Token{}, failure.New(failure.BadGateway, stage, "token endpoint %s answered 200 without access_token (%s)", f.ep, desc)
	}
	expiry := now.Add(f.ttl)
	if raw, ok := lookup(doc, []string{"expires_in"}); ok {
		if expiry, err = parseExpiry(raw, ExpirySecondsFromNow, now); err != nil {
			return Token{}, failure.New(failure.BadGateway, stage, "token endpoint %s answered 200 with an expires_in that %v", f.ep, err)
		}
	}
	return Token{Value: secret.FromString(tok), Expiry: expiry}, nil
}

// body is the form: grant_type first, then scope and audience, then (auth_style body) the
// client credentials, in a fixed order so the request is reproducible.
func (f *oauth2Fetcher) body(clientSecret secret.Value) []byte {
	var b bytes.Buffer
	b.WriteString("grant_type=client_credentials")
	if f.p.Scope != "" {
		b.WriteString("&scope=" + url.QueryEscape(f.p.Scope))
	}
	if f.p.Audience != "" {
		b.WriteString("&audience=" + url.QueryEscape(f.p.Audience))
	}
	if f.p.AuthStyle == "body" {
		b.WriteString("&client_id=" + url.QueryEscape(f.p.ClientID))
		b.WriteString("&client_secret=" + url.QueryEscape(string(clientSecret.Reveal())))
	}
	return b.Bytes()
}

// basicAuth is RFC 6749 2.3.1: id and secret are form-urlencoded, then joined for HTTP Basic.
func basicAuth(id string, clientSecret secret.Value) string {
	pair := url.QueryEscape(id) + ":" + url.QueryEscape(string(clientSecret.Reveal()))
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(pair))
}

// readSecret reads a named provider secret; a keystore failure keeps its own kind and stage.
func readSecret(ctx context.Context, keys SecretGetter, name string) (secret.Value, error) {
	if keys == nil {
		return secret.Value{}, failure.New(failure.Internal, stage, "secret %q: the provider has no secrets", name)
	}
	v, err := keys.Secret(ctx, name)
	if err != nil {
		if failure.StageOf(err) != "" {
			return secret.Value{}, err
		}
		return secret.Value{}, failure.Wrap(failure.Unavailable, stage, err, "reading secret "+name)
	}
	return v, nil
}
