package failure

import (
	"context"
	"fmt"
	"testing"
)

func TestStatus(t *testing.T) {
	tests := []struct {
		name  string
		err   error
		want  int
		stage string
	}{
		{"typed", New(NotFound, "identify", "no provider for %q", "x"), 404, "identify"},
		{"wrapped", fmt.Errorf("ctx: %w", New(Unavailable, "keystore", "vault down")), 503, "keystore"},
		{"wrap keeps inner kind", Wrap(BadGateway, "token", New(Timeout, "", "slow"), "fetch"), 502, "token"},
		{"deadline", context.DeadlineExceeded, 504, ""},
		{"plain", fmt.Errorf("boom"), 500, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Status(tt.err); got != tt.want {
				t.Errorf("Status = %d, want %d", got, tt.want)
			}
			if got := StageOf(tt.err); got != tt.stage {
				t.Errorf("StageOf = %q, want %q", got, tt.stage)
			}
		})
	}
}
