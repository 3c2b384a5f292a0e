package fleet

import (
	"regexp"
	"strings"
	"testing"
)

// tokenEvents are the token manager's log messages worth counting per replica: who fetched,
// who saw a rejection, and any sign that coordination through the store was bypassed.
var tokenEvents = []string{
	"token fetched", "token invalidated", "token fetch failed",
	"token lease holder did not deliver; fetching", "token store lease failed; fetching without it",
	"token store unreadable", "token store write failed", "token store delete failed",
	"token store lease release failed",
}

// bypassEvents mean a replica fetched or wrote without the store's coordination.
var bypassEvents = map[string]bool{
	"token lease holder did not deliver; fetching": true, "token store lease failed; fetching without it": true,
	"token store unreadable": true, "token store write failed": true, "token store delete failed": true,
}

var appliedVersion = regexp.MustCompile(`msg="config version applied" version=(\d+)`)

// events counts tokenEvents in r's log and lists the config versions it applied.
func (r *replica) events() (map[string]int, []string) {
	out := r.Out.String()
	counts := map[string]int{}
	for _, ev := range tokenEvents {
		if n := strings.Count(out, `msg="`+ev+`"`); n > 0 {
			counts[ev] = n
		}
	}
	var versions []string
	for _, m := range appliedVersion.FindAllStringSubmatch(out, -1) {
		versions = append(versions, m[1])
	}
	return counts, versions
}

// checkEvents logs each replica's token events and fails on any coordination bypass.
func checkEvents(t *testing.T, fleet []*replica) {
	t.Helper()
	for _, r := range fleet {
		counts, versions := r.events()
		t.Logf("%s: token events %v; config versions applied %v", r.name, counts, versions)
		if strings.Contains(r.Out.String(), "WARNING: DATA RACE") {
			t.Errorf("%s: the race detector reported a data race; its log, secrets withheld:\n%s", r.name, r.shown())
		}
		for ev, n := range counts {
			if bypassEvents[ev] {
				t.Errorf("%s logged %q %d times: the shared store's coordination was bypassed", r.name, ev, n)
			}
		}
	}
}
