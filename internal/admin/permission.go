package admin

import "net/http"

// permission is what a route requires of its caller. Every route declares one where it is
// registered (routeTable); the zero value is no permission at all, and a route left with it
// is refused to everyone, so a new operation that forgets its declaration is closed, not open.
// Handlers narrow further (a developer's dry run is redacted, a tenant admin's config change
// touches only its own providers), never widen.
type permission int

const (
	permUnset         permission = iota // not declared: refused
	permAuthenticated                   // any role; the handler shows a tenant role its own tenant only
	permConfigWrite                     // gateway admin, or a tenant admin (the handler limits it to its tenant)
	permTenantRead                      // the {tenant} of the path: gateway admin, or a tenant role of it
	permTenantManage                    // the {tenant} of the path: gateway admin, or its tenant admin
	permGatewayAdmin                    // gateway admin only
)

var permissionNames = map[permission]string{
	permAuthenticated: "authenticated", permConfigWrite: "config-write", permTenantRead: "tenant-read",
	permTenantManage: "tenant-manage", permGatewayAdmin: "gateway-admin",
}

func (pm permission) String() string {
	if n, ok := permissionNames[pm]; ok {
		return n
	}
	return "none"
}

// check is the one place a route's permission is enforced; tenant is the path's {tenant}.
func (pm permission) check(p Principal, tenant string) error {
	allowed := false
	switch pm {
	case permAuthenticated:
		allowed = p.Role == RoleGatewayAdmin || p.Role == RoleTenantAdmin || p.Role == RoleTenantDeveloper
	case permConfigWrite:
		allowed = p.Role == RoleGatewayAdmin || p.Role == RoleTenantAdmin
	case permTenantRead:
		allowed = p.canRead(tenant)
	case permTenantManage:
		allowed = p.canManage(tenant)
	case permGatewayAdmin:
		allowed = p.Role == RoleGatewayAdmin
	default:
		return errorf(http.StatusForbidden, "this endpoint declares no permission: refused to everyone")
	}
	if !allowed {
		if tenant != "" && (pm == permTenantRead || pm == permTenantManage) {
			return forbidden("%s %q may not do this on tenant %q (needs %s)", p.Role, p.Name, tenant, pm)
		}
		return forbidden("%s %q may not do this (needs %s)", p.Role, p.Name, pm)
	}
	return nil
}

// route is one authenticated, audited endpoint of the API, with its permission.
type route struct {
	pattern string
	action  string
	perm    permission
	h       handlerFunc
}

// routeTable is every /v1 endpoint. Each line declares who may call it.
var routeTable = []route{
	{"GET /v1/whoami", "whoami", permAuthenticated, (*server).whoami},
	{"GET /v1/config", "config.read", permAuthenticated, (*server).getConfig},
	{"POST /v1/config", "config.apply", permConfigWrite, (*server).applyConfig},
	{"GET /v1/config/versions", "config.history", permAuthenticated, (*server).listVersions},
	{"GET /v1/config/versions/{n}", "config.version", permAuthenticated, (*server).getVersion},
	{"GET /v1/config/diff", "config.diff", permAuthenticated, (*server).diff},
	{"POST /v1/config/rollback", "config.rollback", permConfigWrite, (*server).rollback},
	{"GET /v1/tenants", "tenant.list", permGatewayAdmin, (*server).listTenants},
	{"POST /v1/tenants", "tenant.create", permGatewayAdmin, (*server).createTenant},
	{"PUT /v1/tenants/{tenant}/providers", "provider.replace", permTenantManage, (*server).putProviders},
	{"POST /v1/tenants/{tenant}/credentials", "credential.issue", permTenantManage, (*server).issueCredential},
	{"DELETE /v1/tenants/{tenant}/credentials/{id}", "credential.revoke", permTenantManage, (*server).revokeCredential},
	{"PUT /v1/tenants/{tenant}/secrets/{name}", "secret.write", permTenantManage, (*server).putSecret},
	{"POST /v1/tenants/{tenant}/providers/{provider}/sign", "provider.dry_run", permTenantRead, (*server).dryRun},
	{"POST /v1/providers/{provider}/sign", "provider.dry_run", permGatewayAdmin, (*server).dryRunAny},
	{"POST /v1/tenants/{tenant}/providers/{provider}/script/check", "script.check", permTenantRead, (*server).checkScript},
	{"POST /v1/providers/{provider}/script/check", "script.check", permGatewayAdmin, (*server).checkScriptAny},
	{"GET /v1/metrics/providers", "metrics.providers", permAuthenticated, (*server).providerMetrics},
	{"GET /v1/audit", "audit.read", permAuthenticated, (*server).readAudit},
}
