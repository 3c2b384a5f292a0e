package gateway

import (
	"net/http"
	"strings"
	"testing"

	"github.com/keygate/keygate/internal/failure"
	"github.com/keygate/keygate/signer"
)

// Red team: a caller adds x-envoy-retriable-status-codes: 500,502,503,200 to a payment. Envoy's
// router merges that header into the route's retriable status codes whatever the route says
// (source/common/router/retry_state_impl.cc, RetryStateImpl's constructor), and the route of
// a signed cluster retries retriable-status-codes (the token's 401) at least once: a payment
// the provider answered 5xx (or 200) is sent again, freshly signed by the upstream phase, and
// submitted twice. keygate refused the other retry-steering headers but not this one (nor
// x-envoy-retriable-header-names, the same merge for retriable-headers).
func TestRedTeamCallerCannotAddRetriableStatusCodes(t *testing.T) {
	snap, err := compileWith(t, tokenCompiler(), tokenProviderConfig)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"X-Envoy-Retriable-Status-Codes", "x-envoy-retriable-header-names"} {
		_, err := snap.Begin(Inbound{Method: "POST", Authority: "api.egress.local", Path: "/pay",
			Header: http.Header{http.CanonicalHeaderKey(name): {"500,502,503,200"}}, BodySize: -1}, signer.SystemClock())
		if failure.Status(err) != http.StatusBadRequest || !strings.Contains(err.Error(), strings.ToLower(name)) {
			t.Errorf("%s: %v, want a 400 naming the header", name, err)
		}
	}
}
