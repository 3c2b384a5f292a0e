package admin

import (
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/internal/secret"
)

// Role is what a principal may do.
type Role string

const (
	// RoleGatewayAdmin may do everything, tenants included.
	RoleGatewayAdmin Role = "gateway_admin"
	// RoleTenantAdmin manages its own tenant: providers, scripts, credentials, secret writes and
	// rotation (write-only), rollback.
	RoleTenantAdmin Role = "tenant_admin"
	// RoleTenantDeveloper reads its tenant's config (secrets as references), runs redacted dry
	// runs and reads its tenant's audit entries.
	RoleTenantDeveloper Role = "tenant_developer"
)

// Principal is who an API token belongs to.
type Principal struct {
	Name   string `json:"name"`
	Role   Role   `json:"role"`
	Tenant string `json:"tenant,omitempty"` // required for tenant roles
}

// Token is an API token as configured: its hash (HashToken) and its principal. The token
// itself is never stored.
type Token struct {
	Hash      string
	Principal Principal
}

// HashToken is the stored form of an API token: "sha256:<hex>".
func HashToken(token secret.Value) string { return config.Hash(token.Reveal()) }

// TokenSet is the static tokens the API accepts. Replace swaps the whole set at once while the
// API serves (admin.tokens_file re-read): a request sees the old set or the new one.
type TokenSet struct{ p atomic.Pointer[[]storedToken] }

// NewTokenSet compiles tokens; an invalid one is an error naming it, never skipped.
func NewTokenSet(tokens []Token) (*TokenSet, error) {
	s := &TokenSet{}
	return s, s.Replace(tokens)
}

// Replace makes tokens the accepted set, or changes nothing and says which token is invalid.
func (s *TokenSet) Replace(tokens []Token) error {
	st, err := compileTokens(tokens)
	if err != nil {
		return err
	}
	s.p.Store(&st)
	return nil
}

// Len is how many tokens the set accepts.
func (s *TokenSet) Len() int { return len(s.load()) }

func (s *TokenSet) load() []storedToken {
	if p := s.p.Load(); p != nil {
		return *p
	}
	return nil
}

type storedToken struct {
	hash [sha256.Size]byte
	p    Principal
}

func compileTokens(tokens []Token) ([]storedToken, error) {
	out := make([]storedToken, 0, len(tokens))
	for i, t := range tokens {
		h, err := config.ParseHash(t.Hash)
		if err != nil {
			return nil, fmt.Errorf("admin token %d (%s): hash: %w", i, t.Principal.Name, err)
		}
		switch t.Principal.Role {
		case RoleGatewayAdmin:
		case RoleTenantAdmin, RoleTenantDeveloper:
			if t.Principal.Tenant == "" {
				return nil, fmt.Errorf("admin token %d (%s): role %s needs a tenant", i, t.Principal.Name, t.Principal.Role)
			}
		default:
			return nil, fmt.Errorf("admin token %d (%s): unknown role %q", i, t.Principal.Name, t.Principal.Role)
		}
		if j := slices.IndexFunc(out, func(o storedToken) bool { return o.hash == h }); j >= 0 {
			// One token, two principals: which one acts would depend on the order of lines.
			return nil, fmt.Errorf("admin token %d (%s): the same token as admin token %d (%s)", i, t.Principal.Name, j, out[j].p.Name)
		}
		out = append(out, storedToken{hash: h, p: t.Principal})
	}
	return out, nil
}

// authenticate finds the principal of the request's bearer token: a static token (every
// stored hash compared in constant time), else a JWT when JWT login is configured. A JWT that
// fails verification is logged with the reason, never with the token.
func (s *server) authenticate(r *http.Request) (Principal, bool) {
	auth := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(auth, " ")
	tok = strings.TrimSpace(tok)
	if !ok || !strings.EqualFold(scheme, "Bearer") || tok == "" {
		return Principal{}, false
	}
	if p, ok := matchStatic(s.tokens.load(), tok); ok {
		return p, true
	}
	if s.opts.JWT == nil || !looksLikeJWT(tok) {
		return Principal{}, false
	}
	p, err := s.opts.JWT.Verify(r.Context(), tok)
	if err == nil && p.Tenant != "" {
		// A tenant the issuer names but the config does not define is no tenant: deny, rather
		// than let it act once someone creates a tenant of that name.
		if _, f, cerr := s.current(); cerr != nil || tenantExists(f, p.Tenant) != nil {
			err = fmt.Errorf("claim names tenant %q, which is not defined", p.Tenant)
		}
	}
	if err != nil {
		s.opts.Logger.Warn("admin JWT refused", "err", err, "remote", r.RemoteAddr)
		return Principal{}, false
	}
	return p, true
}

// matchStatic compares tok's hash with every stored hash in constant time.
func matchStatic(tokens []storedToken, tok string) (Principal, bool) {
	sum := sha256.Sum256([]byte(tok))
	match := -1
	for i := range tokens {
		eq := subtle.ConstantTimeCompare(sum[:], tokens[i].hash[:])
		match = subtle.ConstantTimeSelect(eq, i, match)
	}
	if match < 0 {
		return Principal{}, false
	}
	return tokens[match].p, true
}

// canRead: a gateway admin reads everything, a tenant role its own tenant.
func (p Principal) canRead(tenant string) bool {
	return p.Role == RoleGatewayAdmin || (tenant != "" && p.Tenant == tenant)
}

// canManage: a gateway admin manages everything, a tenant admin its own tenant.
func (p Principal) canManage(tenant string) bool {
	return p.Role == RoleGatewayAdmin || (p.Role == RoleTenantAdmin && tenant != "" && p.Tenant == tenant)
}
