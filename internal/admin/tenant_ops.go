package admin

import (
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/keygate/keygate/internal/audit"
	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/internal/secret"
	"github.com/keygate/keygate/internal/versions"
	"github.com/keygate/keygate/keystore"
)

// secretRequest is the body of a secret write. Values are decoded straight into secret.Value
// and are never echoed.
type secretRequest struct {
	Value  *string           `json:"value,omitempty"`  // shorthand for fields {"value": ...}
	Fields map[string]string `json:"fields,omitempty"` // the whole new secret version
	CAS    *int              `json:"cas,omitempty"`    // the version believed current; 0: must not exist; absent: no check
}

// putSecret writes a new version of a tenant secret (write-only) and, when the running config
// uses it, re-applies the config so the new version is pinned (a rotation is a config version,
// and rolling back restores the old key).
func (s *server) putSecret(c *call) (any, error) {
	tenant, name := c.r.PathValue("tenant"), c.r.PathValue("name")
	if !validSecretName(name) {
		return nil, errorf(http.StatusBadRequest, "secret name %q: want 1-63 characters of a-z, 0-9, '-' and '_'", name)
	}
	mount, path := s.opts.SecretMount, s.opts.SecretPrefix+"/"+tenant+"/"+name
	c.ev.Target = mount + "/" + path
	if s.opts.Secrets == nil {
		return nil, errorf(http.StatusNotImplemented, "this keystore does not accept writes")
	}
	var req secretRequest
	if err := decodeJSON(c.r, &req); err != nil {
		return nil, err
	}
	fields := map[string]secret.Value{}
	for k, v := range req.Fields {
		fields[k] = secret.FromString(v)
	}
	if req.Value != nil {
		fields["value"] = secret.FromString(*req.Value)
	}
	req.Value, req.Fields = nil, nil
	if len(fields) == 0 {
		return nil, errorf(http.StatusBadRequest, "set value or fields")
	}
	cas := -1
	if req.CAS != nil {
		cas = *req.CAS
	}
	if _, _, err := s.currentTenant(tenant); err != nil {
		return nil, err
	}
	n, err := s.opts.Secrets.Put(c.r.Context(), mount, path, fields, cas)
	if err != nil {
		return nil, err
	}
	reply := map[string]any{"secret": mount + "/" + path, "version": n}
	// Re-pin the references into this secret that the running config uses, on the config as it
	// is after the write (not as read before it: a change stored meanwhile stays).
	uses := false
	v, err := s.commit(c, func(cur versions.Version, _ *config.File) (versions.Change, error) {
		keep := map[string]int{}
		uses = false
		for k, v := range cur.SecretVersions {
			if ref, err := keystore.ParseRef(k); err == nil && ref.Mount == mount && ref.Path == path {
				uses = true
				continue
			}
			keep[k] = v
		}
		if !uses {
			return versions.Change{}, errNothingToPin
		}
		return versions.Change{Config: cur.Config, Keep: keep, Message: fmt.Sprintf("secret %s/%s is now version %d", mount, path, n)}, nil
	})
	switch {
	case errors.Is(err, errNothingToPin):
	case err != nil:
		return nil, fmt.Errorf("secret written as version %d, but the config was not re-pinned: %w", n, err)
	default:
		reply["config_version"] = v.Number
	}
	return reply, nil
}

// errNothingToPin ends a re-pin commit when the running config does not use the secret.
var errNothingToPin = errors.New("the running config does not use the secret")

func validSecretName(s string) bool {
	if s == "" || len(s) > 63 {
		return false
	}
	return strings.Trim(s, "abcdefghijklmnopqrstuvwxyz0123456789-_") == ""
}

// dryRun signs a raw HTTP request as the provider would, without sending it.
func (s *server) dryRun(c *call) (any, error) {
	return s.dryRunOf(c, c.r.PathValue("tenant"), false)
}

// dryRunAny is a gateway admin's dry run of any provider by name, whatever its tenant: the
// only way to dry-run a single-tenant config's providers, which name no tenant for the path.
func (s *server) dryRunAny(c *call) (any, error) {
	return s.dryRunOf(c, "", true)
}

// dryRunOf runs the dry run of the path's provider; anyTenant: the provider may be of any
// tenant (or none), else it must be tenant's.
func (s *server) dryRunOf(c *call, tenant string, anyTenant bool) (any, error) {
	provider := c.r.PathValue("provider")
	c.ev.Target = "provider " + provider
	reveal, _ := strconv.ParseBool(c.r.URL.Query().Get("reveal"))
	if reveal && c.p.Role == RoleTenantDeveloper {
		return nil, forbidden("role %s may only run redacted dry runs", c.p.Role)
	}
	// Fetching a token is not read-only: a provider may revoke the fleet's live token when it
	// issues a new one.
	fetch, _ := strconv.ParseBool(c.r.URL.Query().Get("fetch_token"))
	if fetch && c.p.Role == RoleTenantDeveloper {
		return nil, forbidden("role %s may not fetch tokens in a dry run", c.p.Role)
	}
	tenant, err := s.providerOf(c, provider, tenant, anyTenant)
	if err != nil {
		return nil, err
	}
	if s.opts.DryRun == nil {
		return nil, errorf(http.StatusNotImplemented, "dry runs are not available")
	}
	in, err := readDryRun(c.r)
	if err != nil {
		return nil, err
	}
	if in.Script != nil {
		// An unsaved script is anyone's code: it never sees a secret value or a live token,
		// whoever runs it, and with no token fetch it sends nothing and saves nothing.
		if reveal || fetch {
			return nil, forbidden("a dry run of an unsaved script is always redacted and never fetches a token: drop reveal and fetch_token")
		}
		sum := sha256.Sum256([]byte(*in.Script))
		c.ev.Target += fmt.Sprintf(", unsaved script sha256:%x", sum[:8])
		release, err := s.scriptSlot(c)
		if err != nil {
			return nil, err
		}
		defer release()
	}
	// explain=true (or a JSON body) answers JSON (the console's playground); otherwise the
	// reply stays the raw request, as `keygate sign` prints it.
	explain, _ := strconv.ParseBool(c.r.URL.Query().Get("explain"))
	res, err := s.opts.DryRun.DryRun(c.r.Context(), tenant, provider, in.Request, DryRunOptions{
		Reveal: reveal, FetchToken: fetch, Explain: explain, Script: in.Script, Response: in.Response,
		MayReveal: c.p.Role != RoleTenantDeveloper,
	})
	if err != nil {
		return nil, err
	}
	for _, n := range res.Notes {
		c.w.Header().Add("Keygate-Note", n)
	}
	if explain || in.json {
		timings := res.Timings
		if timings == nil {
			timings = []StageTiming{}
		}
		return explainedRun{Output: string(res.Output), Response: string(res.Response), Notes: nonNil(res.Notes),
			Explain: nonNil(res.Explain), Timings: timings, Revealed: reveal, Unsaved: in.Script != nil}, nil
	}
	c.raw, c.contentType = res.Output, "text/plain; charset=utf-8"
	if json.Valid(res.Output) {
		c.contentType = "application/json"
	}
	return nil, nil
}

// providerOf checks the path's provider exists where the route says, and returns its tenant.
// The route's permission was checked for tenant; anyTenant (gateway admins) finds the
// provider whatever its tenant, and the event then belongs to that tenant.
func (s *server) providerOf(c *call, provider, tenant string, anyTenant bool) (string, error) {
	v, f, err := s.current()
	if err != nil {
		return "", err
	}
	c.ev.Version = v.Number
	found := false
	for _, p := range f.Providers {
		if p.Name == provider && (anyTenant || p.Tenant == tenant) {
			found, tenant = true, p.Tenant
		}
	}
	if !found && anyTenant {
		return "", errorf(http.StatusNotFound, "no provider %q", provider)
	}
	if anyTenant {
		c.ev.Tenant = tenant // the event belongs to the provider's tenant, as the tenant route's does
	}
	if !found {
		return "", errorf(http.StatusNotFound, "tenant %q has no provider %q", tenant, provider)
	}
	return tenant, nil
}

// explainedRun is a dry run's JSON reply (explain=true, or a JSON body).
type explainedRun struct {
	Output   string        `json:"output"`             // the request that would leave
	Response string        `json:"response,omitempty"` // the pasted answer as response processing left it
	Notes    []string      `json:"notes"`              // what the dry run did not do
	Explain  []string      `json:"explain"`            // what each step signed, in order
	Timings  []StageTiming `json:"timings"`            // time per stage, µs
	Revealed bool          `json:"revealed"`           // false: secrets and signatures are [redacted]
	Unsaved  bool          `json:"unsaved_script"`     // the run used the body's script, not the saved one
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// readAudit answers GET /v1/audit?tenant=&kind=&limit=. Tenant roles read their own tenant only.
func (s *server) readAudit(c *call) (any, error) {
	q := c.r.URL.Query()
	tenant := q.Get("tenant")
	if c.p.Role != RoleGatewayAdmin {
		if tenant == "" {
			tenant = c.p.Tenant
		}
		if tenant != c.p.Tenant {
			return nil, forbidden("%s %q may not read the audit log of tenant %q", c.p.Role, c.p.Name, tenant)
		}
	}
	c.ev.Tenant = tenant
	if s.opts.AuditLog == nil {
		return nil, errorf(http.StatusNotImplemented, "no queryable audit log configured")
	}
	limit, _ := strconv.Atoi(q.Get("limit"))
	events := s.opts.AuditLog.Query(audit.Filter{Tenant: tenant, Kind: q.Get("kind"), Limit: limit})
	if events == nil {
		events = []audit.Event{}
	}
	if c.p.Role != RoleGatewayAdmin {
		events = withoutRestartReport(events)
	}
	return map[string]any{"events": events}, nil
}

// withoutRestartReport is events without the restart report a gateway admin's change to the
// tenant carries: the start-only settings pending a restart are gateway-wide, which a tenant
// role sees in no reply (restartRequired), so not in its tenant's audit log either
// (TestRedTeamTenantAuditShowsNoRestartReport). The events are copies: the log keeps its own.
func withoutRestartReport(events []audit.Event) []audit.Event {
	out := make([]audit.Event, len(events))
	for i, ev := range events {
		switch a := ev.(type) {
		case audit.Admin:
			a.RestartRequired = nil
			ev = a
		case *audit.Admin:
			cp := *a
			cp.RestartRequired = nil
			ev = cp
		}
		out[i] = ev
	}
	return out
}
