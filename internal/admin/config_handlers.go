package admin

import (
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"

	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/internal/versions"
)

// versionView is a version as the API shows it: the whole YAML to a gateway admin; to a tenant
// role its tenant's view of the config and only the pins of its own references.
type versionView struct {
	// versionMeta, not versions.Version: Version's MarshalJSON would be promoted to the view
	// and write the version alone, without yaml and config.
	versionMeta
	YAML   string       `json:"yaml,omitempty"`
	Config *config.File `json:"config,omitempty"`
	// RestartRequired, on the running version to a gateway admin: the start-only settings it
	// changes, which take effect at the next restart (empty: none).
	RestartRequired *[]RestartField `json:"restart_required,omitempty"`
}

// versionMeta is a version's metadata with encoding/json's default encoding.
type versionMeta versions.Version

// view shows v, whose config is f (parsed once by the caller).
func (s *server) view(c *call, v versions.Version, f *config.File) versionView {
	if c.p.Role == RoleGatewayAdmin {
		return versionView{versionMeta: versionMeta(v.Meta()), YAML: string(v.Config), Config: f}
	}
	meta := tenantMeta(v)
	meta.SecretVersions = tenantPins(v.SecretVersions, tenantRefs(f, c.p.Tenant))
	return versionView{versionMeta: versionMeta(meta), Config: tenantView(f, c.p.Tenant)}
}

// tenantMeta is a version's metadata as a tenant role sees it: no pins, and no author,
// message or tenant, which name other tenants' changes ("issue credential ... of tenant globex").
func tenantMeta(v versions.Version) versions.Version {
	m := v.Meta()
	m.SecretVersions, m.Author, m.Message, m.Tenant = nil, "", "", ""
	return m
}

func (s *server) getConfig(c *call) (any, error) {
	v, f, err := s.current()
	if err != nil {
		return nil, err
	}
	c.ev.Version = v.Number
	c.w.Header().Set("ETag", `"`+strconv.Itoa(v.Number)+`"`) // send it back as If-Match
	view := s.view(c, v, f)
	view.RestartRequired = s.restartRequired(c, v)
	c.ev.RestartRequired = nil // reading is no change: the apply's event said it
	return view, nil
}

// applyConfig applies a whole config (YAML body). A tenant admin may change only its own
// providers; its change keeps other tenants' secret pins.
func (s *server) applyConfig(c *call) (any, error) {
	data, err := io.ReadAll(c.r.Body)
	if err != nil {
		return nil, errorf(http.StatusBadRequest, "request body: %v", err)
	}
	msg := c.r.URL.Query().Get("message")
	base, err := baseVersion(c.r)
	if err != nil {
		return nil, err
	}
	if c.p.Role == RoleGatewayAdmin {
		// The caller's whole config: with If-Match it must still be based on the newest version.
		v, err := s.opts.Configs.Commit(c.r.Context(), versions.Change{Config: data, Base: base, Author: c.p.Name, Message: msg})
		c.ev.Version = v.Number
		return s.applied(c, v, err)
	}
	cur, curFile, err := s.current()
	if err != nil {
		return nil, err
	}
	if base == 0 {
		base = cur.Number // checked against this version's other tenants: it must still be the newest
	}
	next, err := parseConfig(data)
	if err != nil {
		return nil, err
	}
	if err := s.checkTenantChange(curFile, next, c.p.Tenant); err != nil {
		return nil, err
	}
	v, err := s.opts.Configs.Commit(c.r.Context(), versions.Change{Config: data, Base: base,
		Keep: othersPins(curFile, cur.SecretVersions, c.p.Tenant), Author: c.p.Name, Message: msg, Tenant: c.p.Tenant})
	c.ev.Version = v.Number
	return s.applied(c, v, err)
}

func (s *server) listVersions(c *call) (any, error) {
	vs, err := s.opts.Configs.History(c.r.Context())
	if err != nil {
		return nil, err
	}
	out := make([]versions.Version, 0, len(vs))
	for _, v := range vs {
		m := v.Meta()
		if c.p.Role != RoleGatewayAdmin {
			m = tenantMeta(v)
		}
		out = append(out, m)
	}
	return map[string]any{"versions": out}, nil
}

func (s *server) getVersion(c *call) (any, error) {
	n, err := strconv.Atoi(c.r.PathValue("n"))
	if err != nil || n < 1 {
		return nil, errorf(http.StatusBadRequest, "version %q is not a positive integer", c.r.PathValue("n"))
	}
	c.ev.Version = n
	v, err := s.opts.Configs.Get(c.r.Context(), n)
	if err != nil {
		return nil, err
	}
	f, err := parseConfig(v.Config)
	if err != nil {
		return nil, err
	}
	return s.view(c, v, f), nil
}

func (s *server) diff(c *call) (any, error) {
	q := c.r.URL.Query()
	from, err1 := strconv.Atoi(q.Get("from"))
	to, err2 := strconv.Atoi(q.Get("to"))
	if err1 != nil || err2 != nil {
		return nil, errorf(http.StatusBadRequest, "from and to must be version numbers")
	}
	c.ev.Target = fmt.Sprintf("%d..%d", from, to)
	a, err := s.opts.Configs.Get(c.r.Context(), from)
	if err != nil {
		return nil, err
	}
	b, err := s.opts.Configs.Get(c.r.Context(), to)
	if err != nil {
		return nil, err
	}
	if c.p.Role == RoleGatewayAdmin {
		return versions.DiffVersions(a, b), nil
	}
	fa, err := parseConfig(a.Config)
	if err != nil {
		return nil, err
	}
	fb, err := parseConfig(b.Config)
	if err != nil {
		return nil, err
	}
	va, vb := s.view(c, a, fa), s.view(c, b, fb)
	ya, _ := renderConfig(va.Config)
	yb, _ := renderConfig(vb.Config)
	return versions.Diff{
		From: from, To: to,
		Text: versions.UnifiedDiff(fmt.Sprintf("version %d", from), fmt.Sprintf("version %d", to), ya, yb),
		Pins: versions.DiffPins(va.SecretVersions, vb.SecretVersions),
	}, nil
}

type rollbackRequest struct {
	Version int    `json:"version"`
	Message string `json:"message,omitempty"`
}

// rollback: a gateway admin rolls the whole config back; a tenant admin rolls back only its own
// providers (and their pins) to those of the version, leaving other tenants as they are.
func (s *server) rollback(c *call) (any, error) {
	var req rollbackRequest
	if err := decodeJSON(c.r, &req); err != nil {
		return nil, err
	}
	c.ev.Target = fmt.Sprintf("version %d", req.Version)
	if req.Message == "" {
		req.Message = fmt.Sprintf("rollback to version %d", req.Version)
	}
	base, err := baseVersion(c.r)
	if err != nil {
		return nil, err
	}
	old, err := s.opts.Configs.Get(c.r.Context(), req.Version)
	if err != nil {
		return nil, err
	}
	if c.p.Role == RoleGatewayAdmin {
		return s.gatewayRollback(c, old, base, req.Message)
	}
	oldFile, err := parseConfig(old.Config)
	if err != nil {
		return nil, err
	}
	tenant := c.p.Tenant
	v, err := s.commit(c, func(cur versions.Version, curFile *config.File) (versions.Change, error) {
		next := *curFile
		next.Providers = nil
		for _, p := range curFile.Providers {
			if p.Tenant != tenant {
				next.Providers = append(next.Providers, p)
			}
		}
		for _, p := range oldFile.Providers {
			if p.Tenant == tenant {
				next.Providers = append(next.Providers, p)
			}
		}
		keep := othersPins(curFile, cur.SecretVersions, tenant)
		for k, n := range tenantPins(old.SecretVersions, tenantRefs(oldFile, tenant)) {
			// A pin another tenant's provider uses is theirs too: moving it back would hand them
			// a rotated-out key. A tenant rollback cannot move it; a gateway admin's can.
			if other, shared := keep[k]; shared && other != n {
				return versions.Change{}, errorf(http.StatusConflict, "secret %s is also used by another tenant's provider "+
					"(pinned at version %d): a tenant rollback cannot move it back to version %d; ask a gateway admin", k, other, n)
			}
			keep[k] = n
		}
		return s.tenantChange(c, curFile, &next, keep, req.Message)
	})
	return s.applied(c, v, err)
}

// gatewayRollback makes a new version with the content and pins of old, except who may log in,
// which stays as it is now: the tenants' credentials (a revoked AppKey is a security action no
// rollback undoes: a leaked key would sign again; a credential issued since keeps working; a
// tenant that no longer exists comes back without credentials) and the admin section (a
// removed admin token or JWT issuer would log in again: the running version's are the API's).
func (s *server) gatewayRollback(c *call, old versions.Version, base int, msg string) (any, error) {
	oldFile, err := parseConfig(old.Config)
	if err != nil {
		return nil, err
	}
	v, err := s.commit(c, func(cur versions.Version, curFile *config.File) (versions.Change, error) {
		if base != 0 && base != cur.Number {
			return versions.Change{}, fmt.Errorf("%w: it was based on version %d, and version %d is now the newest; read it and retry",
				versions.ErrStale, base, cur.Number)
		}
		creds := map[string][]config.TenantCredential{}
		for _, t := range curFile.Tenants {
			creds[t.Name] = t.Credentials
		}
		next := *oldFile
		next.Tenants = slices.Clone(oldFile.Tenants)
		for i := range next.Tenants {
			next.Tenants[i].Credentials = creds[next.Tenants[i].Name]
		}
		next.Admin = curFile.Admin
		data, err := renderConfig(&next)
		return versions.Change{Config: data, Keep: old.SecretVersions, Message: msg, RollbackOf: old.Number}, err
	})
	return s.applied(c, v, err)
}
