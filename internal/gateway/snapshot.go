// Package gateway is keygate's runtime: a config.File compiled into an immutable Snapshot, and
// the request pipeline (Begin -> SignRequest -> ProcessResponse) that the ext_proc server and
// `keygate sign` both run. Nothing on the request path parses configuration.
package gateway

import (
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/keystore"
	"github.com/keygate/keygate/signer"
)

// Snapshot is one compiled config version. It is immutable: a request holds the snapshot it
// started with until it ends, and a reload swaps the whole snapshot (Holder).
type Snapshot struct {
	File    *config.File // as written; must not be modified
	MaxBody int64
	Tenancy Tenancy // nil when no tenants are configured (single-tenant development)
	byHost  map[string]*Provider
	byName  map[string]*Provider
}

// Provider is one compiled provider.
type Provider struct {
	Name     string
	Tenant   string
	Hosts    []string
	Upstream *url.URL // scheme://host[:port], Path = the prefix without a trailing slash
	Timeout  time.Duration
	Steps    []signer.Step
	Schemes  []string // step scheme names, for audit and metrics
	Needs    signer.Needs
	Secrets  map[string]keystore.Ref
	Keys     signer.Keys
	Tokens   signer.TokenSource // nil without a token source
	RetryOn  []int              // provider statuses that invalidate the token
	// ScriptOwnsPath is set for custom mode: the article's script rewrites the URI itself
	// (reqHeaders.setURI(PrefixUrl + reqHeaders.getURI())), so Begin leaves the caller's path.
	ScriptOwnsPath bool
	retry          *retryTransport // the one token retry's client, built on first use
	// scriptTokenFetch serializes the token fetches of a script provider (exchangeTokens).
	scriptTokenFetch chan struct{}
}

// Tenancy authenticates the caller's tenant and checks it may use a provider. It is satisfied
// by internal/tenancy's Directory.
type Tenancy interface {
	Authenticate(credential, spiffeID string) (tenant string, err error)
	Authorize(tenant, providerTenant string) error
}

// ProviderByHost finds the provider a caller named by :authority (port and case ignored).
func (s *Snapshot) ProviderByHost(authority string) (*Provider, bool) {
	p, ok := s.byHost[hostKey(authority)]
	return p, ok
}

// ProviderByName finds a provider by its configured name.
func (s *Snapshot) ProviderByName(name string) (*Provider, bool) {
	p, ok := s.byName[name]
	return p, ok
}

// Providers lists the compiled providers in config order.
func (s *Snapshot) Providers() []*Provider {
	out := make([]*Provider, 0, len(s.File.Providers))
	for _, p := range s.File.Providers {
		out = append(out, s.byName[p.Name])
	}
	return out
}

// hostKey normalizes an :authority: lower case, without port (IPv6 brackets kept).
func hostKey(authority string) string {
	h := strings.ToLower(authority)
	if i := strings.LastIndexByte(h, ':'); i >= 0 && !strings.Contains(h[i:], "]") {
		h = h[:i]
	}
	return h
}

// Holder publishes the current snapshot. Load is lock-free; Store swaps the whole snapshot.
type Holder struct{ p atomic.Pointer[Snapshot] }

// Load returns the current snapshot, or nil before the first Store.
func (h *Holder) Load() *Snapshot { return h.p.Load() }

// Store publishes s.
func (h *Holder) Store(s *Snapshot) { h.p.Store(s) }
