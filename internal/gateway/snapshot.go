// Package gateway is keygate's runtime: a config.File compiled into an immutable Snapshot, and
// the request pipeline (Begin -> SignRequest -> ProcessResponse) that the ext_proc server and
// `keygate sign` both run. Nothing on the request path parses configuration.
package gateway

import (
	"net/url"
	"sync/atomic"
	"time"

	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/internal/failure"
	"github.com/keygate/keygate/internal/routing"
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
	// Refusal is set for a callback provider (config callback: true): the provider's own
	// answer to a callback that failed verification (callback.go).
	Refusal func(error) *signer.Response
	retry   *retryTransport // the one token retry's client, built on first use
	// scriptTokenFetch serializes the token fetches of a script provider (exchangeTokens).
	scriptTokenFetch chan struct{}
}

// Tenancy authenticates the caller's tenant and checks it may use a provider. It is satisfied
// by internal/tenancy's Directory.
type Tenancy interface {
	Authenticate(credential, spiffeID string) (tenant string, err error)
	Authorize(tenant, providerTenant string) error
}

// ProviderByHost finds the provider whose hosts list :authority as Envoy matches it against
// virtual host domains (routing.HostKey: a numeric port stripped, lower case). Hosts are exact
// lower-case names (config validation), so this is Envoy's exact-domain match.
func (s *Snapshot) ProviderByHost(authority string) (*Provider, bool) {
	p, ok := s.byHost[routing.HostKey(authority)]
	return p, ok
}

// Identify is the provider of a request: the one Envoy routed it to. route is the name of the
// route Envoy matched (the routing.RouteAttribute ext_proc attribute, "" when absent): a route
// keygate's xDS pushed names its provider, and that decision is taken as is. A route keygate
// did not name (a mesh's own routes, no route attribute configured) leaves the host, matched
// by Envoy's rules (ProviderByHost).
func (s *Snapshot) Identify(route, authority string) (*Provider, error) {
	if name, ok := routing.ProviderOf(route); ok {
		if p, ok := s.byName[name]; ok {
			return p, nil
		}
		return nil, failure.New(failure.NotFound, "identify", "Envoy routed the request to route %q, which names no configured provider", route)
	}
	if p, ok := s.ProviderByHost(authority); ok && p.Refusal == nil {
		return p, nil
	} else if ok {
		// A callback provider only through Envoy's ingress route: a request on the egress
		// (no route matched there) must not be "verified" and forwarded to the service.
		return nil, failure.New(failure.NotFound, "identify", "host %q is a callback route, served only on the ingress listener", routing.HostKey(authority))
	}
	return nil, failure.New(failure.NotFound, "identify", "no provider is configured for host %q", routing.HostKey(authority))
}

// IdentifyOn is Identify for the listener a stream came from. On the ingress listener (a
// provider's callback, from the internet) the provider is the callback provider whose route
// Envoy matched, and nothing else: a request no ingress route matched (Envoy answers it 404)
// is not identified by its host as an egress provider, which keygate would sign, and its own
// token retry send. On the egress listener a callback provider is refused whichever way it is
// found: its route is served on the ingress only.
func (s *Snapshot) IdentifyOn(ingress bool, route, authority string) (*Provider, error) {
	if !ingress {
		p, err := s.Identify(route, authority)
		if err == nil && p.Refusal != nil {
			return nil, failure.New(failure.NotFound, "identify", "route %q is a callback route, served only on the ingress listener", route)
		}
		return p, err
	}
	name, ok := routing.ProviderOf(route)
	if !ok {
		return nil, failure.New(failure.NotFound, "identify", "no callback route of the ingress listener matched the request")
	}
	if p, ok := s.byName[name]; ok && p.Refusal != nil {
		return p, nil
	}
	return nil, failure.New(failure.NotFound, "identify", "the ingress listener routed the request to route %q, which names no callback provider", route)
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

// Holder publishes the current snapshot. Load is lock-free; Store swaps the whole snapshot.
type Holder struct{ p atomic.Pointer[Snapshot] }

// Load returns the current snapshot, or nil before the first Store.
func (h *Holder) Load() *Snapshot { return h.p.Load() }

// Store publishes s.
func (h *Holder) Store(s *Snapshot) { h.p.Store(s) }
