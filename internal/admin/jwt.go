package admin

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/keygate/keygate/internal/config"
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
	RoleClaim   string       // default config.DefaultRoleClaim
	TenantClaim string       // default config.DefaultTenantClaim
	Algorithms  []string     // default config.DefaultJWTAlgorithms
	HTTPClient  *http.Client // for the JWKS URL; default a client with a 10 s timeout
	// JWKSMinRefresh spaces fetches of the JWKS URL; default DefaultJWKSMinRefresh.
	JWKSMinRefresh time.Duration
	// MaxLifetime refuses a token still valid for longer than this; default DefaultJWTMaxLifetime.
	MaxLifetime time.Duration
	Now         func() time.Time // default time.Now
}

// Bounds on a JWT's times, beyond go-oidc's exp and nbf checks.
const (
	DefaultJWTMaxLifetime = 24 * time.Hour
	jwtClockSkew          = time.Minute
)

type jwtVerifier struct {
	v           *oidc.IDTokenVerifier
	roleClaim   string
	tenantClaim string
	maxLifetime time.Duration
	now         func() time.Time
}

// NewJWTVerifier checks tokens with go-oidc's verifier: signature by one of the issuer's keys
// with an allowed algorithm, iss, aud, exp and nbf.
func NewJWTVerifier(c JWTConfig) (JWTVerifier, error) {
	if c.Issuer == "" || c.Audience == "" {
		return nil, errors.New("admin jwt: issuer and audience are required")
	}
	var keys oidc.KeySet
	switch {
	case c.JWKSURL != "" && len(c.JWKS) == 0:
		client := c.HTTPClient
		if client == nil {
			client = &http.Client{Timeout: 10 * time.Second}
		}
		keys = &throttledKeySet{url: c.JWKSURL, client: client, minRefresh: cmp.Or(c.JWKSMinRefresh, DefaultJWKSMinRefresh)}
	case c.JWKSURL == "" && len(c.JWKS) > 0:
		static, err := parseJWKS(c.JWKS)
		if err != nil {
			return nil, fmt.Errorf("admin jwt: %w", err)
		}
		keys = static
	default:
		return nil, errors.New("admin jwt: exactly one of a JWKS URL and a JWKS is required")
	}
	algs := c.Algorithms
	if len(algs) == 0 {
		algs = slices.Clone(config.DefaultJWTAlgorithms)
	}
	v := &jwtVerifier{
		v:           oidc.NewVerifier(c.Issuer, keys, &oidc.Config{ClientID: c.Audience, SupportedSigningAlgs: algs}),
		roleClaim:   cmp.Or(c.RoleClaim, config.DefaultRoleClaim),
		tenantClaim: cmp.Or(c.TenantClaim, config.DefaultTenantClaim),
		maxLifetime: cmp.Or(c.MaxLifetime, DefaultJWTMaxLifetime),
		now:         c.Now,
	}
	if v.now == nil {
		v.now = time.Now
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
	now := v.now()
	if tok.IssuedAt.After(now.Add(jwtClockSkew)) {
		return Principal{}, fmt.Errorf("the token's iat %s is in the future", tok.IssuedAt.UTC().Format(time.RFC3339))
	}
	if left := tok.Expiry.Sub(now); left > v.maxLifetime+jwtClockSkew {
		return Principal{}, fmt.Errorf("the token is valid for %s more, beyond the %s allowed (admin.jwt.max_lifetime)", left.Round(time.Minute), v.maxLifetime)
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
