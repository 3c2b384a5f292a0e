package admin

import (
	"context"
	"crypto"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/go-jose/go-jose/v4"
)

// DefaultJWKSMinRefresh is how long keygate waits before fetching the issuer's JWKS again for
// a token no key it holds verifies.
const DefaultJWKSMinRefresh = 30 * time.Second

// throttledKeySet is the issuer's JWKS: fetched at first use, and again when no key verifies a
// token, at most once per minRefresh. go-oidc's RemoteKeySet fetches again for every such
// token, so a stream of tokens with made-up key IDs would make keygate hammer the issuer. An
// issuer publishes a new key before signing with it, so the wait delays nothing real.
// Signatures are checked by go-oidc's StaticKeySet (go-jose).
type throttledKeySet struct {
	url        string
	client     *http.Client
	minRefresh time.Duration

	mu      sync.Mutex
	keys    *oidc.StaticKeySet
	fetched time.Time
}

func (k *throttledKeySet) VerifySignature(ctx context.Context, jwt string) ([]byte, error) {
	keys, fresh, err := k.current(ctx, false)
	if err != nil {
		return nil, err
	}
	payload, err := keys.VerifySignature(ctx, jwt)
	if err == nil || fresh {
		return payload, err
	}
	if keys, fresh, err = k.current(ctx, true); err != nil || !fresh {
		return nil, errors.New("no key of the issuer verifies the token")
	}
	return keys.VerifySignature(ctx, jwt)
}

// current returns the key set, fetching it when there is none yet or when refresh is asked and
// the last fetch is older than minRefresh. fresh says it was fetched by this call.
func (k *throttledKeySet) current(ctx context.Context, refresh bool) (*oidc.StaticKeySet, bool, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.keys != nil && (!refresh || time.Since(k.fetched) < k.minRefresh) {
		return k.keys, false, nil
	}
	keys, err := k.fetch(ctx)
	if err != nil {
		if k.keys != nil {
			return k.keys, false, nil // keep the keys we have while the issuer is unreachable
		}
		return nil, false, err
	}
	k.keys, k.fetched = keys, time.Now()
	return keys, true, nil
}

func (k *throttledKeySet) fetch(ctx context.Context) (*oidc.StaticKeySet, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, k.url, nil)
	if err != nil {
		return nil, fmt.Errorf("JWKS %s: %w", k.url, err)
	}
	resp, err := k.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("JWKS %s: %w", k.url, err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("JWKS %s: status %d", k.url, resp.StatusCode)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("JWKS %s: %w", k.url, err)
	}
	return parseJWKS(b)
}

// parseJWKS keeps the public keys of a JSON Web Key Set and refuses anything else in it.
func parseJWKS(b []byte) (*oidc.StaticKeySet, error) {
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(b, &set); err != nil {
		return nil, fmt.Errorf("not a JSON Web Key Set: %w", err)
	}
	keys := &oidc.StaticKeySet{}
	for i, k := range set.Keys {
		if !k.IsPublic() || !k.Valid() {
			return nil, fmt.Errorf("key %d (kid %q) is not a valid public key", i, k.KeyID)
		}
		keys.PublicKeys = append(keys.PublicKeys, crypto.PublicKey(k.Key))
	}
	if len(keys.PublicKeys) == 0 {
		return nil, errors.New("the JWKS holds no key")
	}
	return keys, nil
}
