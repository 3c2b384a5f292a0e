package admin

import (
	"encoding/json"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/keygate/keygate/internal/versions"
)

// TestRestartRequiredIsGatewayAdminsOnly: the report of start-only settings a version changes
// (restart_required) is about the gateway's listeners, keystore and state, sections a tenant
// role may neither change nor read. A gateway admin gets it in every reply that makes a
// version and in GET /v1/config, and its audit event carries the paths; a hostile tenant
// admin or developer who makes or reads versions while a restart is pending sees none of it,
// in replies or in the audit log it may read.
func TestRestartRequiredIsGatewayAdminsOnly(t *testing.T) {
	pending := []RestartField{{Path: "listen.admin", Reason: "listeners are bound at start"}}
	var cleared atomic.Bool
	e := newEnvWith(t, func(o *Options) {
		o.RestartRequired = func(versions.Version) []RestartField {
			if cleared.Load() {
				return nil
			}
			return pending
		}
	})
	type reply struct {
		RestartRequired *[]RestartField `json:"restart_required"`
	}
	decode := func(body string) reply {
		t.Helper()
		var r reply
		if err := json.Unmarshal([]byte(body), &r); err != nil {
			t.Fatalf("%v: %s", err, body)
		}
		return r
	}
	calls := []struct{ method, path, body string }{
		{"POST", "/v1/config", changeProviderOf("", "acme")},
		{"POST", "/v1/config/rollback", `{"version": 1}`},
		{"PUT", "/v1/tenants/acme/providers", newProviderOf("acme", "acme")},
		{"POST", "/v1/tenants/acme/credentials", `{"id": "k9"}`},
		{"DELETE", "/v1/tenants/acme/credentials/k9", ""},
		{"GET", "/v1/config", ""},
	}
	for _, c := range calls {
		st, body := e.do(t, acmeAdminTok, c.method, c.path, c.body)
		if st >= 300 {
			t.Fatalf("tenant admin %s %s: %d %s", c.method, c.path, st, body)
		}
		if strings.Contains(body, "restart_required") || strings.Contains(body, "listen.admin") {
			t.Errorf("tenant admin %s %s sees the restart report: %s", c.method, c.path, body)
		}
	}
	for _, tok := range []string{acmeAdminTok, acmeDevTok} {
		if _, body := e.do(t, tok, "GET", "/v1/audit", ""); strings.Contains(body, "restart_required") || strings.Contains(body, "listen.admin") {
			t.Errorf("a tenant role's audit log shows the restart report: %s", body)
		}
	}
	for _, c := range calls {
		st, body := e.do(t, rootToken, c.method, c.path, c.body)
		if st >= 300 {
			t.Fatalf("gateway admin %s %s: %d %s", c.method, c.path, st, body)
		}
		r := decode(body)
		if r.RestartRequired == nil || len(*r.RestartRequired) != 1 || (*r.RestartRequired)[0] != pending[0] {
			t.Errorf("gateway admin %s %s: restart_required %v", c.method, c.path, r.RestartRequired)
		}
	}
	if _, body := e.do(t, rootToken, "GET", "/v1/audit", ""); !strings.Contains(body, `"restart_required"`) {
		t.Errorf("the gateway admin's apply events do not name the pending paths")
	}

	// Nothing pending: an empty list, said explicitly.
	cleared.Store(true)
	if _, body := e.do(t, rootToken, "GET", "/v1/config", ""); !strings.Contains(body, `"restart_required": []`) &&
		!strings.Contains(body, `"restart_required":[]`) {
		t.Errorf("nothing pending: GET /v1/config lacks an empty restart_required: %s", body)
	}
}

// TestTenantChangeReplyShowsOnlyItsPins: a version's pins name every tenant's secret
// references. GET /v1/config shows a tenant role only its own; the reply to its own change
// (apply, rollback, providers, revoke) showed all of them, another tenant's secret paths and
// versions included. It shows the version as GET /v1/config does now.
func TestTenantChangeReplyShowsOnlyItsPins(t *testing.T) {
	e := newEnv(t)
	calls := []struct{ method, path, body string }{
		{"POST", "/v1/config", changeProviderOf("", "acme")},
		{"PUT", "/v1/tenants/acme/providers", newProviderOf("acme", "acme")},
		{"POST", "/v1/config/rollback", `{"version": 1}`},
		{"POST", "/v1/tenants/acme/credentials", `{"id": "k8"}`},
		{"DELETE", "/v1/tenants/acme/credentials/k8", ""},
	}
	for _, c := range calls {
		st, body := e.do(t, acmeAdminTok, c.method, c.path, c.body)
		if st != 200 {
			t.Fatalf("%s %s: %d %s", c.method, c.path, st, body)
		}
		if strings.Contains(body, "globex") {
			t.Errorf("tenant admin of acme, %s %s: the reply names globex's secrets: %s", c.method, c.path, body)
		}
		if !strings.Contains(c.path, "credentials") && !strings.Contains(body, "secret/keygate/tenants/acme/pay#value") {
			t.Errorf("%s %s: the reply lacks the tenant's own pin: %s", c.method, c.path, body)
		}
	}
}
