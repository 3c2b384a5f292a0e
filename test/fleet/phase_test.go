package fleet

import (
	"fmt"
	"sort"
	"strings"
	"testing"
)

// counters are the provider's tallies at one moment.
type counters struct{ calls, accepted, rejected, unsigned int64 }

func (is *issuer) counters(up *upstream) counters {
	return counters{is.calls.Load(), up.accepted.Load(), up.rejected.Load(), up.unsigned.Load()}
}

func (c counters) minus(o counters) counters {
	return counters{c.calls - o.calls, c.accepted - o.accepted, c.rejected - o.rejected, c.unsigned - o.unsigned}
}

// phase is one burst's expectations.
type phase struct {
	name string
	// maxRejected bounds the requests the provider may reject (sent with a revoked token and
	// recovered by keygate's one retry); 0 when no replica should ever send a revoked token.
	maxRejected int64
}

// run fires the burst and checks what every phase promises: one token call for the whole
// fleet, 200 for every caller, nothing unsigned, and every request accepted in the end.
func (p phase) run(t *testing.T, fleet []*replica, egress []string, is *issuer, up *upstream) {
	t.Helper()
	before := is.counters(up)
	ty := burst(fleet, egress, requests, host)
	d := is.counters(up).minus(before)
	t.Logf("%s: token endpoint calls %d; statuses per replica %s; upstream accepted %d, rejected (revoked token, recovered by the retry) %d, unsigned %d",
		p.name, d.calls, ty.String(), d.accepted, d.rejected, d.unsigned)
	if d.calls != 1 {
		t.Errorf("%s: token endpoint called %d times for %d concurrent requests over %d replicas, want 1", p.name, d.calls, requests, len(fleet))
	}
	if n := ty.notOK(); n != 0 {
		t.Errorf("%s: %d of %d callers did not get 200: %s; first error per replica: %v", p.name, n, requests, ty.String(), ty.firstError)
	}
	if d.unsigned != 0 {
		t.Errorf("%s: %d requests reached the provider without an issued token", p.name, d.unsigned)
	}
	if d.rejected > p.maxRejected {
		t.Errorf("%s: the provider rejected %d requests carrying a revoked token, want at most %d", p.name, d.rejected, p.maxRejected)
	}
	if d.accepted != requests {
		t.Errorf("%s: the provider accepted %d requests, want %d (each rejected one retried once)", p.name, d.accepted, requests)
	}
}

// String lists statuses per replica in a stable order: "replica-a 200x67, ...".
func (ty *tally) String() string {
	ty.mu.Lock()
	defer ty.mu.Unlock()
	var parts []string
	for name, m := range ty.statuses {
		var ss []string
		for s, n := range m {
			ss = append(ss, fmt.Sprintf("%sx%d", s, n))
		}
		sort.Strings(ss)
		parts = append(parts, name+" "+strings.Join(ss, " "))
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}
