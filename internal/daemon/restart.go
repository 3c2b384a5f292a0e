package daemon

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
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
	boot StartSettings // of the config Run started from
	dir  string        // relative paths of a version resolve here, as boot's did
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
	next, err := SettingsOf(v.Config, r.dir)
	if err != nil {
		return nil // a stored version parsed when it was applied; nothing to compare
	}
	return r.boot.RestartRequired(next)
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
	if len(paths) > 0 {
		r.log.Warn("config version changes settings keygate serve reads only at start: they take effect at the next restart "+
			"(which reads them from the config file)", "version", v.Number, "restart_required", paths)
	}
	if r.gauge != nil {
		r.gauge(len(paths) > 0) // after the log: whoever sees the alert finds the line
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

// Started is what a running keygate serve started with, written to its state folder
// (StartedFile) so that `keygate config apply|rollback`, which change versions without it,
// can say which start-only settings the new version changes: fingerprints, never values.
type Started struct {
	PID  int       `json:"pid"`
	Time time.Time `json:"time"`
	// Dir is the folder its config's relative paths resolve against, for a version to be
	// compared as the process would read it.
	Dir      string        `json:"config_dir"`
	Settings StartSettings `json:"settings"`
}

// SettingsOf fingerprints the start-only settings of a version's config as keygate serve,
// resolving relative paths against dir, would read them.
func SettingsOf(data []byte, dir string) (StartSettings, error) {
	f, err := config.Parse(data)
	if err != nil {
		return nil, err
	}
	app.Prepare(f, dir)
	return StartSettingsOf(f), nil
}

// StartedFile is where keygate serve writes Started in the state folder dir.
func StartedFile(dir string) string { return filepath.Join(dir, "started-settings.json") }

// writeStarted writes s for `keygate config` (best effort: without it the CLI compares with
// the previous version instead).
func writeStarted(dir string, s Started, log *slog.Logger) {
	b, err := json.MarshalIndent(s, "", "  ")
	if err == nil {
		tmp := StartedFile(dir) + ".tmp"
		if err = os.WriteFile(tmp, append(b, '\n'), 0o600); err == nil {
			err = os.Rename(tmp, StartedFile(dir))
		}
	}
	if err != nil {
		log.Warn("could not write the start-only settings for keygate config", "err", err)
	}
}

// ReadStarted reads what the keygate serve keeping its state in dir started with.
func ReadStarted(dir string) (Started, error) {
	var s Started
	b, err := os.ReadFile(StartedFile(dir))
	if err != nil {
		return s, err
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return s, fmt.Errorf("%s: %w", StartedFile(dir), err)
	}
	return s, nil
}
