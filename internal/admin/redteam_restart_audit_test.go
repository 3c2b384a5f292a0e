package admin

import (
	"strings"
	"testing"

	"github.com/keygate/keygate/internal/versions"
)

// TestRedTeamTenantAuditShowsNoRestartReport: a gateway admin's change to a tenant's providers
// or credentials is recorded in that tenant's audit ring (the event names the tenant acted on),
// and its event carried restart_required: the gateway-wide start-only settings pending a
// restart. A hostile tenant admin or developer reading its own audit log learned that the
// gateway's listeners or keystore had been changed, which its replies and GET /v1/config never
// show it. A tenant role's audit read leaves the report out; the gateway admin's keeps it.
func TestRedTeamTenantAuditShowsNoRestartReport(t *testing.T) {
	e := newEnvWith(t, func(o *Options) {
		o.RestartRequired = func(versions.Version) []RestartField {
			return []RestartField{{Path: "keystore.vault", Reason: "the keystore is opened at start"}}
		}
	})
	for _, c := range []struct{ method, path, body string }{
		{"PUT", "/v1/tenants/acme/providers", newProviderOf("acme", "acme")},
		{"POST", "/v1/tenants/acme/credentials", `{"id": "k7"}`},
		{"DELETE", "/v1/tenants/acme/credentials/k7", ""},
	} {
		if st, body := e.do(t, rootToken, c.method, c.path, c.body); st >= 300 {
			t.Fatalf("gateway admin %s %s: %d %s", c.method, c.path, st, body)
		}
	}
	for _, tok := range []string{acmeAdminTok, acmeDevTok} {
		st, body := e.do(t, tok, "GET", "/v1/audit", "")
		if st != 200 || !strings.Contains(body, "tenant.providers") && !strings.Contains(body, "credential") {
			t.Fatalf("a tenant role's audit read: %d %s", st, body)
		}
		if strings.Contains(body, "restart_required") || strings.Contains(body, "keystore.vault") {
			t.Errorf("a tenant role's audit log shows the gateway's pending restart: %s", body)
		}
	}
	if _, body := e.do(t, rootToken, "GET", "/v1/audit?tenant=acme", ""); !strings.Contains(body, "keystore.vault") {
		t.Errorf("the gateway admin's audit read lost the report: %s", body)
	}
}
