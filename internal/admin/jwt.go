package admin

import (
	"context"
	"crypto"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/go-jose/go-jose/v4"
)

// JWTVerifier turns a signed JWT into a principal. Options.JWT: nil disables JWT login.
type JWTVerifier interface {
	Verify(ctx context.Context, raw string) (Principal, error)
}

// JWTConfig is admin login with JWTs issued by an OIDC provider (or any issuer of signed JWTs).
type JWTConfig struct {
	Issuer   string // required iss
	Audience string // required member of aud
	// Exactly one of JWKSURL (fetched when a token names an unknown key, so the issuer's key
	// rotation needs nothing here) and JWKS (the key set itself).
	JWKSURL     string
	JWKS        []byte
	RoleClaim   string   // default "keygate_role"
	TenantClaim string   // default "keygate_tenant"
	Algorithms  []string // default RS256, ES256
	HTTPClient  *http.Client
}

type jwtVerifier struct {
	v           *oidc.IDTokenVerifier
	roleClaim   string
	tenantClaim string
}

// NewJWTVerifier checks tokens with go-oidc's verifier: signature by one of the issuer's keys
// with an allowed algorithm, iss, aud, exp and nbf. ctx bounds the key set's fetches: the
// daemon's lifetime.
func NewJWTVerifier(ctx context.Context, c JWTConfig) (JWTVerifier, error) {
	if c.Issuer == "" || c.Audience == "" {
		return nil, errors.New("admin jwt: issuer and audience are required")
	}
	var keys oidc.KeySet
	switch {
	case c.JWKSURL != "" && len(c.JWKS) == 0:
		if c.HTTPClient != nil {
			ctx = oidc.ClientContext(ctx, c.HTTPClient)
		}
		keys = oidc.NewRemoteKeySet(ctx, c.JWKSURL)
	case c.JWKSURL == "" && len(c.JWKS) > 0:
		var set jose.JSONWebKeySet
		if err := json.Unmarshal(c.JWKS, &set); err != nil {
			return nil, fmt.Errorf("admin jwt: the JWKS is not a JSON Web Key Set: %w", err)
		}
		static := &oidc.StaticKeySet{}
		for i, k := range set.Keys {
			if k.IsPublic() && k.Valid() {
				static.PublicKeys = append(static.PublicKeys, crypto.PublicKey(k.Key))
				continue
			}
			return nil, fmt.Errorf("admin jwt: JWKS key %d (kid %q) is not a valid public key", i, k.KeyID)
		}
		if len(static.PublicKeys) == 0 {
			return nil, errors.New("admin jwt: the JWKS holds no key")
		}
		keys = static
	default:
		return nil, errors.New("admin jwt: exactly one of a JWKS URL and a JWKS is required")
	}
	algs := c.Algorithms
	if len(algs) == 0 {
		algs = []string{oidc.RS256, oidc.ES256}
	}
	v := &jwtVerifier{
		v:           oidc.NewVerifier(c.Issuer, keys, &oidc.Config{ClientID: c.Audience, SupportedSigningAlgs: algs}),
		roleClaim:   c.RoleClaim,
		tenantClaim: c.TenantClaim,
	}
	if v.roleClaim == "" {
		v.roleClaim = "keygate_role"
	}
	if v.tenantClaim == "" {
		v.tenantClaim = "keygate_tenant"
	}
	return v, nil
}

// Verify returns the token's principal, named "jwt:<sub>". Errors say what was wrong with the
// token, never what it holds beyond its claims' names.
func (v *jwtVerifier) Verify(ctx context.Context, raw string) (Principal, error) {
	tok, err := v.v.Verify(ctx, raw)
	if err != nil {
		return Principal{}, err
	}
	var claims map[string]any
	if err := tok.Claims(&claims); err != nil {
		return Principal{}, err
	}
	role, _ := claims[v.roleClaim].(string)
	tenant, _ := claims[v.tenantClaim].(string)
	p := Principal{Name: "jwt:" + tok.Subject, Role: Role(role), Tenant: tenant}
	switch p.Role {
	case RoleGatewayAdmin:
		p.Tenant = ""
	case RoleTenantAdmin, RoleTenantDeveloper:
		if p.Tenant == "" {
			return Principal{}, fmt.Errorf("claim %q is required for role %s", v.tenantClaim, role)
		}
	default:
		return Principal{}, fmt.Errorf("claim %q is not one of gateway_admin, tenant_admin, tenant_developer", v.roleClaim)
	}
	if tok.Subject == "" {
		return Principal{}, errors.New("the token has no sub")
	}
	return p, nil
}

// looksLikeJWT: three dot-separated segments (a compact JWS). Only such bearer tokens that
// match no static token are given to the JWT verifier.
func looksLikeJWT(tok string) bool {
	return strings.Count(tok, ".") == 2
}
