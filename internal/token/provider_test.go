package token

import (
	"context"
	"testing"
	"time"

	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/internal/failure"
	"github.com/keygate/keygate/internal/secret"
	"github.com/keygate/keygate/signer"
)

// exchangeSecrets is a signer.Keys that serves secrets by name.
type exchangeSecrets struct {
	signer.Keys
	m mapKeys
}

func (k exchangeSecrets) Secret(ctx context.Context, _ *signer.Exchange, name string) (secret.Value, error) {
	return k.m.Secret(ctx, name)
}

func TestManagerProvider(t *testing.T) {
	srv := newTokenServer(t)
	m := NewManager(Options{})
	keys := exchangeSecrets{m: mapKeys{"cs": secretMarker}}
	ts, err := m.Provider("acme", "pay", &config.TokenSource{
		Type: "oauth2_client_credentials", URL: srv.URL, Timeout: config.Duration(time.Second),
		Params: []byte(`{"client_id":"a","client_secret":"cs"}`),
	}, keys, nil)
	if err != nil {
		t.Fatal(err)
	}
	if v, err := ts.Token(context.Background()); err != nil || reveal(v) != issued(1) {
		t.Fatalf("Token: %v", err)
	}
	if p := ts.(*ProviderSource).Policy(); p.Timeout != time.Second || p.RefreshBefore != DefaultRefreshBefore || len(p.RetryOn) != 1 || p.RetryOn[0] != 401 {
		t.Errorf("policy from config: %+v", p)
	}

	// A script source only caches what the script saves.
	sc, err := m.Provider("acme", "custom", &config.TokenSource{Type: "script"}, keys, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sc.Token(context.Background()); failure.Status(err) != 503 || failure.StageOf(err) != "token" {
		t.Errorf("script source without a saved token: %v", err)
	}

	if _, err := m.Provider("acme", "bad", &config.TokenSource{Type: "http", URL: "https://x/t", Params: []byte(`{"body":{"a":"{var:missing}"}}`)}, keys, nil); err == nil {
		t.Error("a bad token source compiled")
	}
}
