package admin

import (
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/internal/tenancy"
	"github.com/keygate/keygate/internal/versions"
)

type tenantSummary struct {
	Name        string   `json:"name"`
	Credentials []string `json:"credentials"` // credential IDs
	SPIFFEIDs   []string `json:"spiffe_ids,omitempty"`
	Providers   []string `json:"providers"`
}

func (s *server) listTenants(c *call) (any, error) {
	v, f, err := s.current()
	if err != nil {
		return nil, err
	}
	c.ev.Version = v.Number
	out := []tenantSummary{}
	for _, t := range f.Tenants {
		ts := tenantSummary{Name: t.Name, SPIFFEIDs: t.SPIFFEIDs, Credentials: []string{}, Providers: []string{}}
		for _, cr := range t.Credentials {
			ts.Credentials = append(ts.Credentials, cr.ID)
		}
		for _, p := range f.Providers {
			if p.Tenant == t.Name {
				ts.Providers = append(ts.Providers, p.Name)
			}
		}
		out = append(out, ts)
	}
	return map[string]any{"tenants": out}, nil
}

type createTenantRequest struct {
	Name      string   `json:"name"`
	SPIFFEIDs []string `json:"spiffe_ids,omitempty"`
}

func (s *server) createTenant(c *call) (any, error) {
	var req createTenantRequest
	if err := decodeJSON(c.r, &req); err != nil {
		return nil, err
	}
	c.ev.Tenant, c.ev.Target = req.Name, "tenant "+req.Name
	v, err := s.commit(c, func(cur versions.Version, f *config.File) (versions.Change, error) {
		if tenantExists(f, req.Name) == nil {
			return versions.Change{}, errorf(http.StatusConflict, "tenant %q exists", req.Name)
		}
		if err := firstTenantRule(f); err != nil {
			return versions.Change{}, err
		}
		next := *f
		next.Tenants = append(slices.Clone(f.Tenants), config.Tenant{Name: req.Name, SPIFFEIDs: req.SPIFFEIDs})
		return s.tenantChange(c, f, &next, cur.SecretVersions, "create tenant "+req.Name)
	})
	return s.applied(c, v, err)
}

// putProviders replaces all of a tenant's providers with the body (a YAML or JSON list).
func (s *server) putProviders(c *call) (any, error) {
	tenant := c.r.PathValue("tenant")
	data, err := io.ReadAll(c.r.Body)
	if err != nil {
		return nil, errorf(http.StatusBadRequest, "request body: %v", err)
	}
	var providers []config.Provider
	if err := config.CheckAliases(data); err != nil {
		return nil, errorf(http.StatusBadRequest, "providers: %v", err)
	}
	if err := yaml.UnmarshalStrict(data, &providers); err != nil {
		return nil, errorf(http.StatusBadRequest, "providers: %v", err)
	}
	for i := range providers {
		if providers[i].Tenant == "" {
			providers[i].Tenant = tenant
		}
		if providers[i].Tenant != tenant {
			return nil, forbidden("providers[%d].tenant: %q is not tenant %q", i, providers[i].Tenant, tenant)
		}
	}
	msg := c.r.URL.Query().Get("message")
	if msg == "" {
		msg = "replace providers of tenant " + tenant
	}
	v, err := s.commit(c, func(cur versions.Version, f *config.File) (versions.Change, error) {
		if err := tenantExists(f, tenant); err != nil {
			return versions.Change{}, err
		}
		next := *f
		next.Providers = nil
		for _, p := range f.Providers {
			if p.Tenant != tenant {
				next.Providers = append(next.Providers, p)
			}
		}
		next.Providers = append(next.Providers, providers...)
		return s.tenantChange(c, f, &next, othersPins(f, cur.SecretVersions, tenant), msg)
	})
	return s.applied(c, v, err)
}

type issueRequest struct {
	ID string `json:"id,omitempty"`
}

// issueCredential creates a tenant AppKey, stores its hash through a config apply, and returns
// the AppKey in this reply only: it is the one explicit reveal of the API.
func (s *server) issueCredential(c *call) (any, error) {
	tenant := c.r.PathValue("tenant")
	var req issueRequest
	if c.r.ContentLength != 0 {
		if err := decodeJSON(c.r, &req); err != nil {
			return nil, err
		}
	}
	appKey, hash, err := tenancy.IssueCredential()
	if err != nil {
		return nil, err
	}
	askedID := req.ID
	v, err := s.commit(c, func(cur versions.Version, f *config.File) (versions.Change, error) {
		if err := tenantExists(f, tenant); err != nil {
			return versions.Change{}, err
		}
		next := *f
		next.Tenants = slices.Clone(f.Tenants)
		for i := range next.Tenants {
			t := &next.Tenants[i]
			if t.Name != tenant {
				continue
			}
			if req.ID = askedID; req.ID == "" {
				req.ID = fmt.Sprintf("key-%d", len(t.Credentials)+1)
			}
			for _, cr := range t.Credentials {
				if cr.ID == req.ID {
					return versions.Change{}, errorf(http.StatusConflict, "tenant %q already has credential %q", tenant, req.ID)
				}
			}
			t.Credentials = append(slices.Clone(t.Credentials), config.TenantCredential{ID: req.ID, Hash: hash})
		}
		c.ev.Target = "credential " + req.ID
		data, err := renderConfig(&next)
		return versions.Change{Config: data, Keep: cur.SecretVersions, Message: fmt.Sprintf("issue credential %s of tenant %s", req.ID, tenant)}, err
	})
	if err != nil {
		return nil, err
	}
	out := map[string]any{
		"tenant": tenant, "id": req.ID, "version": v.Number, "header": tenancy.TenantKeyHeader,
		"app_key": string(appKey.Reveal()), // the one reveal: shown once, stored only as its hash
	}
	if r := s.restartRequired(c, v); r != nil {
		out["restart_required"] = r
	}
	return out, nil
}

func (s *server) revokeCredential(c *call) (any, error) {
	tenant, id := c.r.PathValue("tenant"), c.r.PathValue("id")
	c.ev.Target = "credential " + id
	v, err := s.commit(c, func(cur versions.Version, f *config.File) (versions.Change, error) {
		if err := tenantExists(f, tenant); err != nil {
			return versions.Change{}, err
		}
		next := *f
		next.Tenants = slices.Clone(f.Tenants)
		found := false
		for i := range next.Tenants {
			t := &next.Tenants[i]
			if t.Name == tenant {
				n := len(t.Credentials)
				t.Credentials = slices.DeleteFunc(slices.Clone(t.Credentials), func(cr config.TenantCredential) bool { return cr.ID == id })
				found = len(t.Credentials) < n
			}
		}
		if !found {
			return versions.Change{}, errorf(http.StatusNotFound, "tenant %q has no credential %q", tenant, id)
		}
		data, err := renderConfig(&next)
		return versions.Change{Config: data, Keep: cur.SecretVersions, Message: fmt.Sprintf("revoke credential %s of tenant %s", id, tenant)}, err
	})
	return s.applied(c, v, err)
}

// firstTenantRule refuses the first tenant of a config whose providers have none: once a config
// defines tenants, every provider belongs to one (config.Validate), and this call cannot say
// which tenant each existing provider is. The answer says how to make the change in one step.
func firstTenantRule(f *config.File) error {
	if len(f.Tenants) > 0 {
		return nil
	}
	var orphans []string
	for _, p := range f.Providers {
		if p.Tenant == "" {
			orphans = append(orphans, p.Name)
		}
	}
	if len(orphans) == 0 {
		return nil
	}
	return errorf(http.StatusConflict, "the config defines no tenants and providers %s have none: once a config defines tenants, "+
		"every provider belongs to one. Add the tenants and each provider's tenant in one change: POST /v1/config with the whole "+
		"config (or keygate config apply), then manage each tenant here (docs/admin.md, \"The first tenant\")", strings.Join(orphans, ", "))
}
