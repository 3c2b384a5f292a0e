package admin

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/internal/versions"
)

// maxRebase bounds how often commit rebuilds a change on a newer version before answering 409.
const maxRebase = 5

// commit builds a change from the running version and commits it with that version as its base.
// When another change was stored in between (versions.ErrStale), it rebuilds the change from
// the newer version: every build reads the very version it changes, so rebuilding is the
// rebase, and nothing another writer was acknowledged for is undone (a credential revoked by
// tenant beta stays revoked while tenant alpha edits a provider).
func (s *server) commit(c *call, build func(cur versions.Version, f *config.File) (versions.Change, error)) (versions.Version, error) {
	for attempt := 1; ; attempt++ {
		cur, f, err := s.current()
		if err != nil {
			return versions.Version{}, err
		}
		ch, err := build(cur, f)
		if err != nil {
			return versions.Version{}, err
		}
		ch.Base, ch.Author = cur.Number, c.p.Name
		if c.p.Role != RoleGatewayAdmin {
			ch.Tenant = c.p.Tenant // retention keeps each tenant's newest versions apart
		}
		v, err := s.opts.Configs.Commit(c.r.Context(), ch)
		if errors.Is(err, versions.ErrStale) && attempt < maxRebase {
			// The newer version may be another replica's, not yet followed here: give the store
			// follower a moment before reading the running version again.
			time.Sleep(time.Duration(attempt*attempt) * 10 * time.Millisecond)
			continue
		}
		c.ev.Version = v.Number
		return v, err
	}
}

// tenantChange is the change that makes next the config: checked against cur for c's tenant
// (a gateway admin may change anything), rendered, with keep's pins.
func (s *server) tenantChange(c *call, cur, next *config.File, keep map[string]int, msg string) (versions.Change, error) {
	if c.p.Role != RoleGatewayAdmin {
		if err := s.checkTenantChange(cur, next, c.p.Tenant); err != nil {
			return versions.Change{}, err
		}
	}
	data, err := renderConfig(next)
	if err != nil {
		return versions.Change{}, err
	}
	return versions.Change{Config: data, Keep: keep, Message: msg}, nil
}

// baseVersion is the version a client says its change is based on: If-Match ("7" or 7, as
// the ETag of GET /v1/config gives it) or ?base_version=7; 0 when it says nothing.
func baseVersion(r *http.Request) (int, error) {
	raw := strings.Trim(strings.TrimPrefix(r.Header.Get("If-Match"), "W/"), `"`)
	if raw == "" {
		raw = r.URL.Query().Get("base_version")
	}
	if raw == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < 1 {
		return 0, errorf(http.StatusBadRequest, "If-Match / base_version %q is not a version number", raw)
	}
	return n, nil
}
