package admin

import "github.com/keygate/keygate/internal/versions"

// RestartField is a setting a config version changes that `keygate serve` reads only when it
// starts: the version is stored and served, the setting takes effect at the next restart. It
// names the field path and why, never a value (keystore settings may name credentials).
type RestartField struct {
	Path   string `json:"path"`
	Reason string `json:"reason"`
}

// RestartReport says which start-only settings version v changes against the settings the
// process started with (Options.RestartRequired).
type RestartReport func(v versions.Version) []RestartField

// restartRequired is the report for v as c's caller may see it: a gateway admin gets the list
// (empty when nothing is pending); a tenant role gets nil, shown as nothing. Every start-only
// setting is gateway-wide (listen, keystore, limits, state, admin: sections a tenant admin may
// not change; its view of the config omits all but the limits, whose stored values it reads,
// not which of them the process still runs with), and a pending restart tells about the
// gateway's operations, not the tenant's providers.
func (s *server) restartRequired(c *call, v versions.Version) *[]RestartField {
	if c.p.Role != RoleGatewayAdmin {
		return nil
	}
	out := []RestartField{}
	if s.opts.RestartRequired != nil {
		if fs := s.opts.RestartRequired(v); len(fs) > 0 {
			out = fs
		}
	}
	if len(out) > 0 {
		c.ev.RestartRequired = restartPaths(out)
	}
	return &out
}

// appliedView is the reply of a change that made a version: its metadata as the caller may
// see it (GET /v1/config's rules) and, for a gateway admin, what of it waits for a restart.
type appliedView struct {
	versionMeta
	RestartRequired *[]RestartField `json:"restart_required,omitempty"`
}

// applied is the reply to c for the version v it made (the zero value when err is set). A
// tenant role sees the version as GET /v1/config shows it to them: the pins of its own
// references only (a version's pins name every tenant's secrets), no author or message.
func (s *server) applied(c *call, v versions.Version, err error) (any, error) {
	if err != nil {
		return v.Meta(), err
	}
	if c.p.Role != RoleGatewayAdmin {
		meta := tenantMeta(v)
		if f, perr := parseConfig(v.Config); perr == nil {
			meta.SecretVersions = tenantPins(v.SecretVersions, tenantRefs(f, c.p.Tenant))
		}
		return appliedView{versionMeta: versionMeta(meta)}, nil
	}
	return appliedView{versionMeta: versionMeta(v.Meta()), RestartRequired: s.restartRequired(c, v)}, nil
}

// restartPaths are the fields' paths, for the audit event.
func restartPaths(fs []RestartField) []string {
	out := make([]string, 0, len(fs))
	for _, f := range fs {
		out = append(out, f.Path)
	}
	return out
}
