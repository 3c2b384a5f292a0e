package script

import (
	"os"
	"testing"
	"time"
)

// TestMain raises the default time per invocation from 50ms to a minute: most tests here are
// about what a script may touch, not how long it runs, and a 50ms limit failed them whenever a
// loaded machine (or a mutation run beside other jobs) was slow. The tests about time limits
// set theirs explicitly (bombs_test.go, redteam_limits_test.go, sandbox_test.go).
func TestMain(m *testing.M) {
	defaultTimeout = time.Minute
	os.Exit(m.Run())
}
