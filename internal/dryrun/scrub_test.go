package dryrun

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/keygate/keygate/internal/failure"
	"github.com/keygate/keygate/internal/gateway"
	"github.com/keygate/keygate/keystore"
	"github.com/keygate/keygate/signer"
)

// TestScrub: a failed dry run's error text is redacted as its output is (a value a step
// marked sensitive, in clear or base64), its kind and stage kept; with reveal it is left as is.
func TestScrub(t *testing.T) {
	const value = "sensitive-value-9f8e7d6c"
	call := &gateway.Call{Provider: &gateway.Provider{Secrets: map[string]keystore.Ref{}},
		Exchange: &signer.Exchange{Sensitive: []string{value}}}
	cause := failure.New(failure.BadRequest, "script", "the provider said no to %s (c2Vuc2l0aXZlLXZhbHVlLTlmOGU3ZDZj)", value)
	err := scrub(context.Background(), call, Input{}, cause)
	if strings.Contains(err.Error(), value) || strings.Contains(err.Error(), "c2Vuc2l0aXZlLXZhbHVlLTlmOGU3ZDZj") || !strings.Contains(err.Error(), "[redacted]") {
		t.Fatalf("scrubbed error %q", err)
	}
	if failure.KindOf(err) != failure.BadRequest || failure.StageOf(err) != "script" || !errors.Is(err, cause) {
		t.Fatalf("the classification was lost: %v %v", failure.KindOf(err), failure.StageOf(err))
	}
	clean := failure.New(failure.BadRequest, "script", "nothing secret here")
	if got := scrub(context.Background(), call, Input{}, clean); got != error(clean) {
		t.Fatalf("a clean error was wrapped: %v", got)
	}
	if got := scrub(context.Background(), call, Input{Reveal: true}, cause); got != error(cause) {
		t.Fatalf("a revealed run's error was changed: %v", got)
	}
}
