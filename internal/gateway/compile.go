package gateway

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/keystore"
	"github.com/keygate/keygate/signer"
)

// Defaults that mirror Envoy's where Envoy has one.
const (
	DefaultMaxBody = 1 << 20          // Envoy's per_connection_buffer_limit_bytes
	DefaultTimeout = 15 * time.Second // Envoy's RouteAction.timeout
)

// MessageHeadroom is what an ext_proc message may carry beyond limits.max_body_bytes: the
// headers, attributes and metadata of a request, and what signing adds to its body. keygate's
// gRPC limits are the body limit plus this (extproc.NewGRPCServer).
const MessageHeadroom = 256 << 10

// headerBudget is the part of MessageHeadroom kept for header mutations and framing: Envoy's
// default max_request_headers_kb is 60.
const headerBudget = 64 << 10

// MaxSignedBody is the largest body signing may produce: what fits in one ext_proc message
// besides the headers. A body that grows past it (encryption, base64) is refused with 413
// before it is handed to Envoy, instead of failing the gRPC send (an empty 500).
func (s *Snapshot) MaxSignedBody() int64 { return s.MaxBody + MessageHeadroom - headerBudget }

// Compiler turns a validated config.File into a Snapshot. Its fields are the compilers of the
// parts keygate is made of; each is built once in cmd and passed in.
type Compiler struct {
	Catalog signer.Catalog
	// NewKeys binds a provider's secret references to the keystore its tenant reads with.
	NewKeys func(tenant string, refs map[string]keystore.Ref) signer.Keys
	// Script compiles custom mode; nil disables it. token is the provider's token source, if
	// any: its URL is the only host a script may call.
	Script func(cfg config.Script, b signer.Build, token *config.TokenSource) (signer.Step, error)
	// Tokens builds a provider's token source; nil disables token sources.
	Tokens func(tenant, provider string, cfg *config.TokenSource, keys signer.Keys, vars map[string]string) (signer.TokenSource, error)
	// Tenancy compiles the tenant directory; nil disables tenancy.
	Tenancy func(tenants []config.Tenant) (Tenancy, error)
}

// Meta is what a config version adds to its config. (Version numbers, hashes and authors
// belong to internal/versions; a snapshot does not repeat them.)
type Meta struct {
	// Pins maps an unversioned KV reference (keystore.Ref.String) to the KV version the config
	// version pinned at apply, so a rollback restores the keys that version used.
	Pins map[string]int
}

// Compile validates and compiles f. All problems are returned together, each naming its field
// path. A Compile error means nothing may be applied.
func (c *Compiler) Compile(f *config.File, meta Meta) (*Snapshot, error) {
	if err := f.Validate(); err != nil {
		return nil, err
	}
	s := &Snapshot{
		File:    f,
		MaxBody: f.Limits.MaxBodyBytes,
		byHost:  map[string]*Provider{}, byName: map[string]*Provider{},
	}
	if s.MaxBody == 0 {
		s.MaxBody = DefaultMaxBody
	}
	var errs []error
	if len(f.Tenants) > 0 {
		if c.Tenancy == nil {
			errs = append(errs, config.Errorf("tenants", "tenancy is not available in this build"))
		} else if t, err := c.Tenancy(f.Tenants); err != nil {
			errs = append(errs, err)
		} else {
			s.Tenancy = t
		}
	}
	for i := range f.Providers {
		p, err := c.compileProvider(fmt.Sprintf("providers[%d]", i), &f.Providers[i], meta.Pins)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		s.byName[p.Name] = p
		for _, h := range p.Hosts {
			s.byHost[h] = p // validated: an exact lower-case name, claimed once
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return s, nil
}

func (c *Compiler) compileProvider(path string, pc *config.Provider, pins map[string]int) (*Provider, error) {
	up, _ := url.Parse(pc.Upstream.URL) // Validate checked it
	up.Path = strings.TrimSuffix(up.Path, "/")
	p := &Provider{
		Name: pc.Name, Tenant: pc.Tenant, Hosts: pc.Hosts, Upstream: up,
		Timeout: pc.Upstream.Timeout.Or(DefaultTimeout), Secrets: map[string]keystore.Ref{},
		retry: &retryTransport{cfg: pc.Upstream},
	}
	for name, text := range pc.Secrets {
		ref, _ := keystore.ParseRef(text) // Validate checked it
		if v, ok := pins[ref.Unversioned().String()]; ok && ref.Kind == keystore.KV && ref.Version == 0 {
			ref.Version = v
		}
		p.Secrets[name] = ref
	}
	if c.NewKeys != nil {
		p.Keys = c.NewKeys(pc.Tenant, p.Secrets)
	}
	var errs []error
	if pc.Token != nil {
		if c.Tokens == nil {
			errs = append(errs, config.Errorf(path+".token", "token sources are not available in this build"))
		} else if ts, err := c.Tokens(pc.Tenant, pc.Name, pc.Token, p.Keys, pc.Vars); err != nil {
			errs = append(errs, prefixed(path+".token", err))
		} else {
			p.Tokens = ts
			p.RetryOn = pc.Token.RetryStatuses()
		}
	}
	build := func(stepPath string, params []byte) signer.Build {
		b := c.build(pc, p.Secrets, p.Tokens != nil || pc.Token != nil, stepPath)
		b.Params = params
		return b
	}
	for j, st := range pc.Signing {
		sp := fmt.Sprintf("%s.signing[%d]", path, j)
		factory, ok := c.Catalog[st.Scheme]
		if !ok {
			errs = append(errs, config.Errorf(sp+".scheme", "unknown scheme %q (known: %s)", st.Scheme, strings.Join(c.schemeNames(), ", ")))
			continue
		}
		step, err := factory(build(sp, st.Params))
		if err != nil {
			errs = append(errs, prefixed(sp, err))
			continue
		}
		p.Steps = append(p.Steps, step)
		p.Schemes = append(p.Schemes, st.Scheme)
	}
	if pc.Script != nil {
		switch step, err := c.compileScript(*pc.Script, build(path+".script", nil), pc.Token); {
		case err != nil:
			errs = append(errs, prefixed(path+".script", err))
		default:
			p.Steps = append(p.Steps, step)
			p.Schemes = append(p.Schemes, "script")
			p.ScriptOwnsPath = true
			if p.Tokens != nil {
				p.scriptTokenFetch = make(chan struct{}, 1)
			}
		}
	}
	for _, st := range p.Steps {
		p.Needs = p.Needs.Or(st.Needs())
	}
	if err := compileCallback(p, pc, path); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return p, nil
}

// build is what a step of provider pc compiles from; secrets are its pinned references.
func (c *Compiler) build(pc *config.Provider, secrets map[string]keystore.Ref, hasToken bool, stepPath string) signer.Build {
	up, _ := url.Parse(pc.Upstream.URL) // Validate checked it
	up.Path = strings.TrimSuffix(up.Path, "/")
	return signer.Build{
		Provider: pc.Name, Path: stepPath, Secrets: secrets,
		Vars: pc.Vars, Upstream: up, HasToken: hasToken,
	}
}

func (c *Compiler) compileScript(cfg config.Script, b signer.Build, token *config.TokenSource) (signer.Step, error) {
	if c.Script == nil {
		return nil, errors.New("custom mode is not available in this build")
	}
	return c.Script(cfg, b, token)
}

func (c *Compiler) schemeNames() []string {
	names := make([]string, 0, len(c.Catalog))
	for n := range c.Catalog {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// prefixed makes err name path unless it already is a FieldError (which names its own).
func prefixed(path string, err error) error {
	var fe *config.FieldError
	if errors.As(err, &fe) {
		return err
	}
	// A compiler that names its own field relative to path's last key ("token.params.url: ...")
	// gets the full path, so the error can be placed on its line.
	msg := err.Error()
	last := path[strings.LastIndexAny(path, ".]")+1:]
	if sub, rest, ok := strings.Cut(msg, ": "); ok && last != "" && (sub == last || strings.HasPrefix(sub, last+".")) && !strings.ContainsAny(sub, " \"") {
		return config.Errorf(path+sub[len(last):], "%s", rest)
	}
	return config.Errorf(path, "%v", err)
}
