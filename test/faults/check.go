package faults

import (
	"encoding/json"
	"strconv"
	"testing"
)

// wantOnly fails t unless every caller status is one of allowed.
func wantOnly(t *testing.T, c *caller, allowed ...int) {
	t.Helper()
	_, got := c.snapshot()
	ok := map[string]bool{}
	for _, a := range allowed {
		ok[strconv.Itoa(a)] = true
	}
	for status, n := range got {
		if !ok[status] {
			t.Errorf("callers got %s %d times; the documented statuses are %v", status, n, allowed)
		}
	}
}

// wantStage fails t unless every error body is keygate's JSON error naming stage (or, for
// statuses the egress answers itself, anything).
func wantStage(t *testing.T, c *caller, stage string) {
	t.Helper()
	for _, b := range c.errorBodies() {
		var e struct {
			Error struct {
				Status int    `json:"status"`
				Kind   string `json:"kind"`
				Stage  string `json:"stage"`
			} `json:"error"`
		}
		if err := json.Unmarshal(b, &e); err != nil || e.Error.Stage != stage {
			t.Errorf("an error body (%d bytes, not shown: bodies are scanned for secrets) names stage %q, want %q", len(b), e.Error.Stage, stage)
			return
		}
	}
}

// wantReached fails t unless the upstream received exactly n requests.
func wantReached(t *testing.T, u *upstream, n int64) {
	t.Helper()
	if got := u.reached.Load(); got != n {
		t.Errorf("the upstream received %d requests, want %d", got, n)
	}
}
