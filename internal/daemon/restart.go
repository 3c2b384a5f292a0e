package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/keygate/keygate/internal/admin"
	"github.com/keygate/keygate/internal/app"
	"github.com/keygate/keygate/internal/audit"
	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/internal/versions"
)

// restartReport tells the operator when the running version changes a setting keygate serve
// read only at start (startOnly): a version that moves listen.admin is accepted and served,
// and the admin API keeps answering where it started until a restart. Silence would read as
// "applied". It compares each version that becomes current with the config the process
// started with, not with the previous version, so applying A, B, then A again clears it.
type restartReport struct {
	boot *config.File // the config Run started from (prepared)
	dir  string       // relative paths of a version resolve here, as boot's did
	log  *slog.Logger
	// audit hears when the pending list changes (nil: not told); gauge is the
	// keygate_config_restart_required metric.
	audit audit.Sink
	gauge func(pending bool)

	mu      sync.Mutex
	version int      // the newest version reported: an older one's late call changes nothing
	paths   []string // the pending paths of that version
}

// forVersion is the report for v: the admin API's restart_required.
func (r *restartReport) forVersion(v versions.Version) []admin.RestartField {
	f, err := config.Parse(v.Config)
	if err != nil {
		return nil // a stored version parsed when it was applied; nothing to compare
	}
	app.Prepare(f, r.dir)
	return restartRequired(r.boot, f)
}

// applied reports v, the version that became current: a warning naming the paths (never a
// value: keystore settings may name credentials) while any is pending, the gauge, and an audit
// event when the pending list changes.
func (r *restartReport) applied(ctx context.Context, v versions.Version) {
	fields := r.forVersion(v)
	paths := make([]string, 0, len(fields))
	for _, f := range fields {
		paths = append(paths, f.Path)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if v.Number < r.version {
		return
	}
	r.version = v.Number
	if r.gauge != nil {
		r.gauge(len(paths) > 0)
	}
	if len(paths) > 0 {
		r.log.Warn("config version changes settings keygate serve reads only at start: they take effect at the next restart "+
			"(which reads them from the config file)", "version", v.Number, "restart_required", paths)
	}
	if slices.Equal(paths, r.paths) {
		return
	}
	if len(paths) == 0 {
		r.log.Info("config version no longer changes start-only settings: no restart required", "version", v.Number)
	}
	r.paths = paths
	if r.audit == nil {
		return
	}
	ev := audit.Admin{Time: time.Now().UTC(), Actor: "keygate serve", Role: "cli", Action: "config.restart_required",
		Target: fmt.Sprintf("version %d", v.Number), Version: v.Number, Outcome: audit.OutcomeOK, RestartRequired: paths}
	if len(paths) == 0 {
		ev.Action = "config.restart_cleared"
	}
	if err := r.audit.Write(ctx, ev); err != nil {
		r.log.Warn("audit write failed", "err", err)
	}
}
