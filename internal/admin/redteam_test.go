package admin

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/keygate/keygate/internal/audit"
)

// Red team: an authenticated tenant developer of acme sends requests naming other tenants in
// the URL. Each is refused (403), but its audit event was attributed to the tenant the URL
// named: acme's developer wrote into globex's audit ring (10,000 denied requests evict every
// real globex event, and globex's view shows acme's actor), and every invented tenant name
// created a ring of its own (10,000 slots allocated each: ~240 KB per request, unbounded). A
// tenant role's events belong to its own tenant, whatever the URL says.
func TestRedTeamTenantRoleCannotWriteIntoAnotherTenantsAudit(t *testing.T) {
	e := newEnv(t)
	if st, _ := e.do(t, acmeDevTok, "DELETE", "/v1/tenants/globex/credentials/k1", ""); st != http.StatusForbidden {
		t.Fatalf("acme's developer revoking a globex credential: %d, want 403", st)
	}
	for i := range 5 {
		if st, _ := e.do(t, acmeAdminTok, "POST", fmt.Sprintf("/v1/tenants/invented-%d/providers/x/sign", i), ""); st != http.StatusForbidden {
			t.Fatalf("dry run on an invented tenant: %d, want 403", st)
		}
	}
	for _, ev := range e.log.Query(audit.Filter{Tenant: "globex"}) {
		if a, ok := ev.(audit.Admin); ok && a.Actor != "" && a.Actor != "globex-admin" && a.Actor != "root" {
			t.Errorf("an event of %s (%s) was recorded in tenant globex's audit: %+v", a.Actor, a.Role, a)
		}
	}
	for i := range 5 {
		if evs := e.log.Query(audit.Filter{Tenant: fmt.Sprintf("invented-%d", i)}); len(evs) > 0 {
			t.Errorf("a denied request naming tenant invented-%d was recorded under that tenant: %+v", i, evs)
		}
	}
	// The attempts are kept, in the actor's own tenant, naming what was tried.
	found := false
	for _, ev := range e.log.Query(audit.Filter{Tenant: "acme"}) {
		if a, ok := ev.(audit.Admin); ok && a.Actor == "acme-dev" && a.Outcome == audit.OutcomeDenied && a.Target == "tenant globex" {
			found = true
		}
	}
	if !found {
		t.Error("acme-dev's denied attempt on globex is not in acme's audit")
	}
}
