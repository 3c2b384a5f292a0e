package script

import (
	"strings"
	"testing"
	"time"

	"github.com/keygate/keygate/internal/config"
)

// Red team: a hostile tenant admin sets script.timeout to an hour on a looping script and runs
// it through the admin API's dry run (whose context lives as long as the admin connection, not
// Envoy's message timeout). The slots are work-conserving (a tenant alone takes all of them) and
// not preemptible, so while its scripts loop every other tenant's script waits: the fair share
// applies only to the next grant, an hour later. The time limit must have a ceiling.
func TestRedTeamHourLongScriptTimeoutIsRefused(t *testing.T) {
	_, err := Compile(config.Script{Inline: reqHead + "for (;;) {}\n}", Timeout: config.Duration(time.Hour)}, testBuild(t), Options{})
	if err == nil {
		t.Fatal("a script with timeout 1h compiled: its loops would hold the processor slots for an hour")
	}
	if !strings.Contains(err.Error(), "script.timeout") {
		t.Fatalf("error %q does not name script.timeout", err)
	}
	// At the ceiling it compiles.
	if _, err := Compile(config.Script{Inline: reqHead + "}", Timeout: config.Duration(DefaultMaxTimeout)}, testBuild(t), Options{}); err != nil {
		t.Fatal(err)
	}
}
