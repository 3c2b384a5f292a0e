package audit

import (
	"context"
	"testing"
)

// Red team: a caller with no tenant credential sends requests through the egress. Each fails
// before keygate knows a tenant, so its signing event has no tenant, and it went into the same
// ring as the gateway admin's own events (config applies, rollbacks, tenant creation, which
// have no tenant either): DefaultMemoryCapacity bad requests from anyone who reaches the egress
// evicted the gateway's whole admin trail from GET /v1/audit. Likewise a tenant's own traffic
// evicted its admin events (a credential revoke) within seconds. Request events and admin
// events are retained apart.
func TestRedTeamEgressFloodKeepsAdminEvents(t *testing.T) {
	m := NewMemory(100)
	ctx := context.Background()
	_ = m.Write(ctx, Admin{Actor: "root", Role: "gateway_admin", Action: "config.apply"})
	_ = m.Write(ctx, Admin{Actor: "beta-admin", Role: "tenant_admin", Tenant: "beta", Action: "credential.revoke"})
	for range 1000 {
		_ = m.Write(ctx, Sign{Provider: "", Outcome: OutcomeError, Status: 401, Stage: "tenant"}) // no credential
		_ = m.Write(ctx, Sign{Tenant: "beta", Provider: "beta-pay", Outcome: OutcomeOK})          // beta's traffic
	}
	for _, want := range []struct{ tenant, action string }{{"", "config.apply"}, {"beta", "credential.revoke"}} {
		found := false
		for _, ev := range m.Query(Filter{Tenant: want.tenant, Kind: KindAdmin}) {
			if a := ev.(Admin); a.Action == want.action && a.Tenant == want.tenant {
				found = true
			}
		}
		if !found {
			t.Errorf("the admin event %s (tenant %q) was evicted by request events", want.action, want.tenant)
		}
	}
	if n := len(m.Query(Filter{Tenant: "beta", Kind: KindSign})); n != 100 {
		t.Errorf("beta keeps %d request events, want its 100", n)
	}
}
