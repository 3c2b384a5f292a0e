package cli

import (
	"fmt"
	"io"
	"strings"

	"github.com/keygate/keygate/internal/admin"
	"github.com/keygate/keygate/internal/daemon"
	"github.com/keygate/keygate/internal/versions"
)

// warnRestartRequired prints a warning line when version v (just stored in stateDir) changes
// settings keygate serve reads only at start: a running keygate serve follows the new version
// but keeps those settings until it restarts. It compares with what the keygate serve keeping
// its state in stateDir started with (daemon.StartedFile), else with prev, the version v
// replaced (zero: none). Paths only, never values. dir resolves v's relative paths without a
// started file.
func warnRestartRequired(w io.Writer, stateDir, dir string, prev, v versions.Version) {
	var fields []admin.RestartField
	var against string
	if st, err := daemon.ReadStarted(stateDir); err == nil {
		next, err := daemon.SettingsOf(v.Config, st.Dir)
		if err != nil {
			return
		}
		fields = st.Settings.RestartRequired(next)
		against = fmt.Sprintf("keygate serve (pid %d, started %s) reads only at start", st.PID, st.Time.Format("2006-01-02 15:04:05 UTC"))
	} else {
		if prev.Number == 0 {
			return // the first version: nothing was running with other settings
		}
		before, err1 := daemon.SettingsOf(prev.Config, dir)
		next, err2 := daemon.SettingsOf(v.Config, dir)
		if err1 != nil || err2 != nil {
			return
		}
		fields = before.RestartRequired(next)
		against = fmt.Sprintf("keygate serve reads only at start (changed since version %d)", prev.Number)
	}
	if len(fields) == 0 {
		return
	}
	paths := make([]string, 0, len(fields))
	for _, f := range fields {
		paths = append(paths, f.Path)
	}
	fmt.Fprintf(w, "warning: version %d changes settings %s: %s; they take effect when it restarts (from its config file)\n",
		v.Number, against, strings.Join(paths, ", "))
}
