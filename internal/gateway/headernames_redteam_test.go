package gateway

import (
	"net/http"
	"testing"

	"github.com/keygate/keygate/internal/failure"
	"github.com/keygate/keygate/signer"
)

// TestRedTeamLookAlikeTenantKeyIsRefused: a tenant key header spelled with a letter that only
// Unicode case folding maps onto keygate's ('K' KELVIN SIGN) is not the tenant key Envoy removes
// by name: strings.EqualFold took it as the credential, and the call forwarded neither it nor
// a refusal, while Envoy, which removes "x-keygate-tenant-key", forwarded it. From Envoy's
// fields or from an http.Header (the dry run), it is refused as a keygate header.
func TestRedTeamLookAlikeTenantKeyIsRefused(t *testing.T) {
	snap, err := compile(t, twoProviders)
	if err != nil {
		t.Fatal(err)
	}
	pay, _ := snap.ProviderByName("pay")
	for _, name := range []string{"x-keygate-tenant-\u212aey", "x-\u212aeygate-tenant-key", "X-KEYGATE-TENANT-\u212aEY"} {
		for _, in := range []Inbound{
			{Fields: []HeaderField{{Name: name, Values: []string{"kg_secret"}}}},
			{Header: http.Header{name: {"kg_secret"}}},
		} {
			in.Method, in.Authority, in.Path, in.BodySize = "GET", "pay.egress.local", "/x", -1
			call, err := snap.BeginWith(pay, in, signer.SystemClock())
			if err == nil {
				t.Fatalf("%q (fields %v): accepted, request headers %q", name, in.Fields != nil, call.Exchange.Request.Header)
			}
			if failure.Status(err) != 403 {
				t.Fatalf("%q (fields %v): %v, want 403 (reserved for keygate)", name, in.Fields != nil, err)
			}
		}
	}
}

// TestRedTeamLookAlikeKeygateHeaderInTheUpstreamPhase: the upstream phase refuses a keygate
// header (the downstream phase did not run or did not strip it); a look-alike spelling is one.
func TestRedTeamLookAlikeKeygateHeaderInTheUpstreamPhase(t *testing.T) {
	snap, err := compileWith(t, tokenCompiler(), tokenProviderConfig)
	if err != nil {
		t.Fatal(err)
	}
	api, _ := snap.ProviderByName("api")
	for _, name := range []string{"x-\u212aeygate-tenant-key", "X_\u212aEYGATE_CALLBACK"} {
		_, err := snap.BeginUpstream(api, Attempt{Method: "GET", Authority: "api.example", Path: "/x",
			Header: http.Header{name: {"kg_secret"}}, BodySize: -1}, signer.SystemClock())
		if failure.Status(err) != 403 {
			t.Errorf("%q in an attempt: %v, want 403", name, err)
		}
	}
}

// TestRedTeamRetryOfAnUpstreamAttemptFailsClosed: an upstream attempt's call has the provider's
// token source but keeps no caller request (the router retries it): asked to retry anyway, it
// refuses instead of re-beginning from nothing.
func TestRedTeamRetryOfAnUpstreamAttemptFailsClosed(t *testing.T) {
	snap, err := compileWith(t, tokenCompiler(), tokenProviderConfig)
	if err != nil {
		t.Fatal(err)
	}
	api, _ := snap.ProviderByName("api")
	call, err := snap.BeginUpstream(api, Attempt{Method: "GET", Authority: "api.example", Path: "/x", BodySize: -1}, signer.SystemClock())
	if err != nil {
		t.Fatal(err)
	}
	if call.ShouldRetry(401) {
		t.Fatal("an upstream attempt would be retried by keygate")
	}
	if _, err := call.Retry(t.Context(), http.DefaultClient, signer.SystemClock()); failure.Status(err) != 500 {
		t.Fatalf("Retry of an upstream attempt: %v, want an internal error", err)
	}
}
