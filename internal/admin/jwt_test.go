package admin

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/keygate/keygate/internal/testkit"
)

const (
	testIssuer   = "https://login.example.test"
	testAudience = "keygate-admin"
)

// issuerKey is a test OIDC provider's signing key with its key ID (testkit's, shared with the
// daemon's and the console's OIDC tests).
type issuerKey = testkit.IssuerKey

var (
	testKeyOnce sync.Once
	testKey     issuerKey
)

// theIssuerKey is generated once per test binary: every env trusts it.
func theIssuerKey(t testing.TB) issuerKey {
	testKeyOnce.Do(func() { testKey = newIssuerKey(t, "k1") })
	return testKey
}

func newIssuerKey(t testing.TB, kid string) issuerKey { return testkit.NewIssuerKey(t, kid) }

func jwksOf(keys ...issuerKey) []byte { return testkit.JWKS(keys...) }

// mint signs claims as a JWT with k. Unset standard claims take valid defaults; a nil claim
// is left out.
func mint(t testing.TB, k issuerKey, claims map[string]any) string {
	t.Helper()
	c := map[string]any{"iss": testIssuer, "aud": testAudience, "sub": "alice", "exp": time.Now().Add(time.Hour).Unix()}
	for name, v := range claims {
		if v == nil {
			delete(c, name)
		} else {
			c[name] = v
		}
	}
	return k.Mint(t, c)
}

func roleClaims(role, tenant string) map[string]any {
	c := map[string]any{"keygate_role": role}
	if tenant != "" {
		c["keygate_tenant"] = tenant
	}
	return c
}

// TestJWTLogin: a JWT from the configured issuer logs in with the role and tenant of its
// claims; everything else about a token that is wrong gets 401 and changes nothing.
func TestJWTLogin(t *testing.T) {
	k := theIssuerKey(t)
	e := newEnv(t)
	whoami := func(tok string) (int, string) { return e.do(t, tok, "GET", "/v1/whoami", "") }

	for _, tt := range []struct {
		claims map[string]any
		want   string
	}{
		{roleClaims("gateway_admin", ""), `"role": "gateway_admin"`},
		{roleClaims("tenant_admin", "acme"), `"tenant": "acme"`},
		{roleClaims("tenant_developer", "globex"), `"role": "tenant_developer"`},
	} {
		status, body := whoami(mint(t, k, tt.claims))
		if status != http.StatusOK || !strings.Contains(body, tt.want) || !strings.Contains(body, `"name": "jwt:alice"`) {
			t.Errorf("claims %v: %d %s", tt.claims, status, body)
		}
	}

	other := newIssuerKey(t, "k1") // the same kid, another key
	hs, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: []byte("0123456789abcdef0123456789abcdef")}, nil)
	hsJWS, _ := hs.Sign([]byte(`{"iss":"` + testIssuer + `","aud":"` + testAudience + `","sub":"x","exp":9999999999,"keygate_role":"gateway_admin"}`))
	hsTok, _ := hsJWS.CompactSerialize()
	admin := roleClaims("gateway_admin", "")
	with := func(extra map[string]any) map[string]any {
		c := map[string]any{}
		for k, v := range admin {
			c[k] = v
		}
		for k, v := range extra {
			c[k] = v
		}
		return c
	}
	for name, tok := range map[string]string{
		"signed by another key":        mint(t, other, admin),
		"another issuer":               mint(t, k, with(map[string]any{"iss": "https://evil.example.test"})),
		"another audience":             mint(t, k, with(map[string]any{"aud": "some-other-app"})),
		"expired":                      mint(t, k, with(map[string]any{"exp": time.Now().Add(-time.Minute).Unix()})),
		"not yet valid":                mint(t, k, with(map[string]any{"nbf": time.Now().Add(time.Hour).Unix()})),
		"no role":                      mint(t, k, map[string]any{}),
		"unknown role":                 mint(t, k, roleClaims("root", "")),
		"tenant role without a tenant": mint(t, k, roleClaims("tenant_admin", "")),
		"no subject":                   mint(t, k, with(map[string]any{"sub": nil})),
		"HS256 (a symmetric alg)":      hsTok,
		"alg none":                     "eyJhbGciOiJub25lIn0.eyJpc3MiOiJodHRwczovL2xvZ2luLmV4YW1wbGUudGVzdCIsImtleWdhdGVfcm9sZSI6ImdhdGV3YXlfYWRtaW4ifQ.",
		"tampered payload":             tamper(mint(t, k, roleClaims("tenant_developer", "acme"))),
		"valid for 100 years":          mint(t, k, with(map[string]any{"exp": time.Now().AddDate(100, 0, 0).Unix()})),
		"issued in the future":         mint(t, k, with(map[string]any{"iat": time.Now().Add(time.Hour).Unix()})),
		"a tenant the config lacks":    mint(t, k, roleClaims("tenant_admin", "initech")),
	} {
		if status, body := whoami(tok); status != http.StatusUnauthorized {
			t.Errorf("%s: got %d, want 401: %s", name, status, body)
		}
	}
}

// tamper swaps the payload for one claiming gateway_admin, keeping the signature.
func tamper(tok string) string {
	parts := strings.Split(tok, ".")
	parts[1] = base64.RawURLEncoding.EncodeToString([]byte(`{"iss":"` + testIssuer + `","aud":"` + testAudience + `","sub":"alice","exp":9999999999,"keygate_role":"gateway_admin"}`))
	return strings.Join(parts, ".")
}

// TestJWTRemoteKeySetFollowsRotation: with jwks_url, a token signed by a key the issuer added
// after keygate started is accepted (the key set is fetched again when no key verifies), and a
// key the issuer never published is refused.
func TestJWTRemoteKeySetFollowsRotation(t *testing.T) {
	k1, k2 := newIssuerKey(t, "k1"), newIssuerKey(t, "k2")
	var current atomic.Value
	current.Store(jwksOf(k1))
	var fetches atomic.Int32
	jwks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fetches.Add(1)
		_, _ = w.Write(current.Load().([]byte))
	}))
	defer jwks.Close()
	v, err := NewJWTVerifier(JWTConfig{Issuer: testIssuer, Audience: testAudience,
		JWKSURL: jwks.URL, Algorithms: []string{"ES256"}, HTTPClient: jwks.Client(), JWKSMinRefresh: time.Nanosecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := v.Verify(ctx, mint(t, k1, roleClaims("gateway_admin", ""))); err != nil {
		t.Fatalf("k1: %v", err)
	}
	current.Store(jwksOf(k1, k2))
	if _, err := v.Verify(ctx, mint(t, k2, roleClaims("gateway_admin", ""))); err != nil {
		t.Fatalf("k2 added by the issuer: %v", err)
	}
	current.Store(jwksOf(k2))
	if _, err := v.Verify(ctx, mint(t, newIssuerKey(t, "k3"), roleClaims("gateway_admin", ""))); err == nil {
		t.Fatal("a key the issuer never published was accepted")
	}
	if n := fetches.Load(); n < 2 {
		t.Fatalf("%d JWKS fetches, want one per unknown key", n)
	}
}

func TestNewJWTVerifierRefusesBadKeySets(t *testing.T) {
	k := theIssuerKey(t)
	priv, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: k.Key, KeyID: "p"}}})
	for name, c := range map[string]JWTConfig{
		"no issuer":       {Audience: testAudience, JWKS: jwksOf(k)},
		"no audience":     {Issuer: testIssuer, JWKS: jwksOf(k)},
		"no keys":         {Issuer: testIssuer, Audience: testAudience},
		"both key places": {Issuer: testIssuer, Audience: testAudience, JWKS: jwksOf(k), JWKSURL: "https://x.test/jwks"},
		"not a JWKS":      {Issuer: testIssuer, Audience: testAudience, JWKS: []byte(`{"keys": 1}`)},
		"empty JWKS":      {Issuer: testIssuer, Audience: testAudience, JWKS: []byte(`{"keys": []}`)},
		"a private key":   {Issuer: testIssuer, Audience: testAudience, JWKS: priv},
	} {
		if _, err := NewJWTVerifier(c); err == nil {
			t.Errorf("%s: accepted", name)
		} else if strings.Contains(err.Error(), `"d"`) {
			t.Errorf("%s: the error shows key material: %v", name, err)
		}
	}
}

// TestJWKSFetchesAreThrottled: tokens no key verifies do not make keygate fetch the issuer's
// JWKS once each, and keys already fetched keep working while the issuer is down.
func TestJWKSFetchesAreThrottled(t *testing.T) {
	k := newIssuerKey(t, "k1")
	var fetches atomic.Int32
	var down atomic.Bool
	jwks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fetches.Add(1)
		if down.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write(jwksOf(k))
	}))
	defer jwks.Close()
	v, err := NewJWTVerifier(JWTConfig{Issuer: testIssuer, Audience: testAudience, JWKSURL: jwks.URL,
		Algorithms: []string{"ES256"}, HTTPClient: jwks.Client(), JWKSMinRefresh: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	good := mint(t, k, roleClaims("gateway_admin", ""))
	if _, err := v.Verify(ctx, good); err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		forged := mint(t, newIssuerKey(t, fmt.Sprintf("made-up-%d", i)), roleClaims("gateway_admin", ""))
		if _, err := v.Verify(ctx, forged); err == nil {
			t.Fatal("a token signed by an unpublished key was accepted")
		}
	}
	if n := fetches.Load(); n != 1 {
		t.Fatalf("%d JWKS fetches for 1 good and 20 forged tokens within the refresh interval, want 1", n)
	}
	down.Store(true)
	if _, err := v.Verify(ctx, good); err != nil {
		t.Fatalf("a known key stopped working while the issuer is down: %v", err)
	}
}
