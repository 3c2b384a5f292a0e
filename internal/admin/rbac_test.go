package admin

import (
	"cmp"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/keygate/keygate/internal/secret"
)

// op is one admin operation aimed at a tenant.
type op struct {
	name   string
	method string
	path   func(t string) string
	body   func(own, t string) string
	// expected statuses: gateway admin, tenant admin on own / other tenant, developer own / other
	gw, taOwn, taOther, tdOwn, tdOther int
	gwOther                            int // when it differs from gw
}

func fixed(p string) func(string) string { return func(string) string { return p } }
func noBody(string, string) string       { return "" }

// changeProviderOf returns the base config with tenant t's provider pointed elsewhere.
func changeProviderOf(_, t string) string {
	return strings.Replace(baseConfig, "https://pay."+t+".example", "https://pay2."+t+".example", 1)
}

func newProviderOf(t string, secretTenant string) string {
	return fmt.Sprintf(`- name: %[1]s-new
  hosts: [%[1]s-new.egress.local]
  upstream: {url: "https://new.%[1]s.example"}
  secrets: {key: "secret/keygate/tenants/%[2]s/pay#value"}
`, t, secretTenant)
}

const (
	ok   = http.StatusOK
	deny = http.StatusForbidden
)

var ops = []op{
	{"whoami", "GET", fixed("/v1/whoami"), noBody, ok, ok, ok, ok, ok, 0},
	{"read config", "GET", fixed("/v1/config"), noBody, ok, ok, ok, ok, ok, 0},
	{"apply: change a provider of the tenant", "POST", fixed("/v1/config?message=m"), changeProviderOf, ok, ok, deny, deny, deny, 0},
	{"apply: change the tenants list", "POST", fixed("/v1/config"), func(string, string) string {
		return strings.Replace(baseConfig, "tenants:\n", "tenants:\n  - name: initech\n", 1)
	}, ok, deny, deny, deny, deny, 0},
	{"apply: move a provider to the tenant", "POST", fixed("/v1/config"), func(own, t string) string {
		other := map[string]string{"acme": "globex", "globex": "acme"}[t]
		return strings.Replace(baseConfig, "tenant: "+other, "tenant: "+t, 1)
	}, ok, deny, deny, deny, deny, 0},
	{"list versions", "GET", fixed("/v1/config/versions"), noBody, ok, ok, ok, ok, ok, 0},
	{"get version", "GET", fixed("/v1/config/versions/1"), noBody, ok, ok, ok, ok, ok, 0},
	{"diff", "GET", fixed("/v1/config/diff?from=1&to=1"), noBody, ok, ok, ok, ok, ok, 0},
	{"rollback", "POST", fixed("/v1/config/rollback"), func(string, string) string { return `{"version": 1}` }, ok, ok, ok, deny, deny, 0},
	{"list tenants", "GET", fixed("/v1/tenants"), noBody, ok, deny, deny, deny, deny, 0},
	{"create tenant", "POST", fixed("/v1/tenants"), func(string, string) string { return `{"name": "initech"}` }, ok, deny, deny, deny, deny, 0},
	{"replace providers", "PUT", func(t string) string { return "/v1/tenants/" + t + "/providers" },
		func(_, t string) string { return newProviderOf(t, t) }, ok, ok, deny, deny, deny, 0},
	{"replace providers: use another tenant's secret", "PUT", func(t string) string { return "/v1/tenants/" + t + "/providers" },
		func(_, t string) string {
			return newProviderOf(t, map[string]string{"acme": "globex", "globex": "acme"}[t])
		}, ok, deny, deny, deny, deny, 0},
	{"replace providers: claim another tenant's host", "PUT", func(t string) string { return "/v1/tenants/" + t + "/providers" },
		func(_, t string) string {
			other := map[string]string{"acme": "globex", "globex": "acme"}[t]
			return strings.Replace(newProviderOf(t, t), t+"-new.egress.local", other+"-pay.egress.local", 1)
		}, http.StatusBadRequest, deny, deny, deny, deny, 0},
	{"replace providers: wildcard host", "PUT", func(t string) string { return "/v1/tenants/" + t + "/providers" },
		func(_, t string) string {
			return strings.Replace(newProviderOf(t, t), "["+t+"-new.egress.local]", `["*"]`, 1)
		},
		http.StatusBadRequest, http.StatusBadRequest, deny, deny, deny, 0},
	{"replace providers: dot segments into another tenant's secrets", "PUT", func(t string) string { return "/v1/tenants/" + t + "/providers" },
		func(_, t string) string {
			other := map[string]string{"acme": "globex", "globex": "acme"}[t]
			return newProviderOf(t, t+"/../"+other)
		}, http.StatusBadRequest, http.StatusBadRequest, deny, deny, deny, 0},
	{"issue credential", "POST", func(t string) string { return "/v1/tenants/" + t + "/credentials" }, noBody, ok, ok, deny, deny, deny, 0},
	{"revoke credential", "DELETE", func(t string) string { return "/v1/tenants/" + t + "/credentials/k1" }, noBody, ok, ok, deny, deny, deny, 0},
	{"write secret", "PUT", func(t string) string { return "/v1/tenants/" + t + "/secrets/pay" },
		func(string, string) string { return `{"value": "` + writtenSecret + `", "cas": 1}` }, ok, ok, deny, deny, deny, 0},
	{"dry run", "POST", func(t string) string { return "/v1/tenants/" + t + "/providers/" + t + "-pay/sign" },
		func(string, string) string { return "GET / HTTP/1.1\r\nHost: x\r\n\r\n" }, ok, ok, deny, ok, deny, 0},
	{"dry run with reveal", "POST", func(t string) string { return "/v1/tenants/" + t + "/providers/" + t + "-pay/sign?reveal=true" },
		func(string, string) string { return "GET / HTTP/1.1\r\nHost: x\r\n\r\n" }, ok, ok, deny, deny, deny, 0},
	{"dry run with explain (the console's playground)", "POST", func(t string) string { return "/v1/tenants/" + t + "/providers/" + t + "-pay/sign?explain=true" },
		func(string, string) string { return "GET / HTTP/1.1\r\nHost: x\r\n\r\n" }, ok, ok, deny, ok, deny, 0},
	{"dry run with explain and reveal", "POST", func(t string) string {
		return "/v1/tenants/" + t + "/providers/" + t + "-pay/sign?explain=true&reveal=true"
	}, func(string, string) string { return "GET / HTTP/1.1\r\nHost: x\r\n\r\n" }, ok, ok, deny, deny, deny, 0},
	{"dry run of another tenant's provider via own tenant", "POST", func(t string) string {
		return "/v1/tenants/acme/providers/" + t + "-pay/sign"
	}, noBody, ok, ok, http.StatusNotFound, ok, http.StatusNotFound, http.StatusNotFound},
	{"dry run by provider name (gateway admins)", "POST", func(t string) string { return "/v1/providers/" + t + "-pay/sign?explain=true" },
		func(string, string) string { return "GET / HTTP/1.1\r\nHost: x\r\n\r\n" }, ok, deny, deny, deny, deny, 0},
	{"check a script as it is typed", "POST", func(t string) string { return "/v1/tenants/" + t + "/providers/" + t + "-pay/script/check" },
		func(string, string) string { return `{"script": "function (r) {}"}` }, ok, ok, deny, ok, deny, 0},
	{"check a script of another tenant's provider via own tenant", "POST", func(t string) string {
		return "/v1/tenants/acme/providers/" + t + "-pay/script/check"
	}, func(string, string) string { return `{"script": "function (r) {}"}` }, ok, ok, http.StatusNotFound, ok, http.StatusNotFound, http.StatusNotFound},
	{"check a script by provider name (gateway admins)", "POST", func(t string) string { return "/v1/providers/" + t + "-pay/script/check" },
		func(string, string) string { return `{"script": "function (r) {}"}` }, ok, deny, deny, deny, deny, 0},
	{"dry run of an unsaved script and a pasted answer", "POST", func(t string) string { return "/v1/tenants/" + t + "/providers/" + t + "-pay/sign" },
		func(string, string) string {
			return `{"request": "GET / HTTP/1.1\r\nHost: x\r\n\r\n", "script": "function (r) {}", "response": "HTTP/1.1 200 OK\r\n\r\n{}"}`
		}, ok, ok, deny, ok, deny, 0},
	{"dry run of an unsaved script with reveal (nobody)", "POST", func(t string) string { return "/v1/tenants/" + t + "/providers/" + t + "-pay/sign?reveal=true" },
		func(string, string) string {
			return `{"request": "GET / HTTP/1.1\r\nHost: x\r\n\r\n", "script": "function (r) {}"}`
		}, deny, deny, deny, deny, deny, 0},
	{"provider metrics", "GET", fixed("/v1/metrics/providers"), noBody, ok, ok, ok, ok, ok, 0},
	{"read audit", "GET", func(t string) string { return "/v1/audit?tenant=" + t }, noBody, ok, ok, deny, ok, deny, 0},
}

type caller struct {
	name, token, tenant string
	via                 string // "static" or "jwt": how the caller logs in
}

// TestRoleOperationMatrix runs every operation as every role, against its own tenant and the
// other tenant, each on a fresh gateway, and checks the status, the error format, the audit
// event, and that no reply leaks a secret.
func TestRoleOperationMatrix(t *testing.T) {
	k := theIssuerKey(t)
	callers := []caller{
		{"gateway_admin", rootToken, "", "static"},
		{"tenant_admin", acmeAdminTok, "acme", "static"},
		{"tenant_developer", acmeDevTok, "acme", "static"},
		// The same roles through OIDC/JWT login: the matrix does not depend on how one logs in.
		{"gateway_admin", mint(t, k, roleClaims("gateway_admin", "")), "", "jwt"},
		{"tenant_admin", mint(t, k, roleClaims("tenant_admin", "acme")), "acme", "jwt"},
		{"tenant_developer", mint(t, k, roleClaims("tenant_developer", "acme")), "acme", "jwt"},
	}
	for _, o := range ops {
		for _, c := range callers {
			for _, target := range []string{"acme", "globex"} {
				own := target == "acme"
				want := map[string][2]int{
					"gateway_admin":    {o.gw, cmp.Or(o.gwOther, o.gw)},
					"tenant_admin":     {o.taOwn, o.taOther},
					"tenant_developer": {o.tdOwn, o.tdOther},
				}[c.name][map[bool]int{true: 0, false: 1}[own]]
				rel := map[bool]string{true: "own", false: "other"}[own]
				t.Run(fmt.Sprintf("%s/%s(%s)/%s", o.name, c.name, c.via, rel), func(t *testing.T) {
					e := newEnv(t)
					status, body := e.do(t, c.token, o.method, o.path(target), o.body(c.tenant, target))
					if status != want {
						t.Fatalf("%s %s: got %d, want %d: %s", o.method, o.path(target), status, want, body)
					}
					if status != ok && !strings.Contains(body, fmt.Sprintf(`"status": %d`, status)) {
						t.Fatalf("error reply without its status: %s", body)
					}
					if l := leaks(body); l != "" {
						t.Fatalf("reply contains test secret %s", l)
					}
					events := e.log.Query(auditAll)
					wantEvents := 1
					if status == ok && quietActions[actionOf(t, o.method, o.path(target))] {
						wantEvents = 0 // a poll or keystroke: only refusals and failures are audited
					}
					if len(events) != wantEvents {
						t.Fatalf("%d audit events, want %d", len(events), wantEvents)
					}
				})
			}
		}
		t.Run(o.name+"/unauthenticated", func(t *testing.T) {
			e := newEnv(t)
			for _, tok := range []string{"", "TOKEN-wrong", rootToken + "x", "a.b.c", mint(t, newIssuerKey(t, "k1"), roleClaims("gateway_admin", ""))} {
				if status, body := e.do(t, tok, o.method, o.path("acme"), o.body("", "acme")); status != http.StatusUnauthorized {
					t.Fatalf("token %q: got %d: %s", tok[:min(len(tok), 5)], status, body)
				}
			}
			if v, _ := e.configs.Current(); v.Number != 1 {
				t.Fatalf("an unauthenticated request changed the config to version %d", v.Number)
			}
		})
	}
}

// TestEveryRouteIsInTheRoleMatrix: every registered /v1 route declares a permission and is
// exercised by the role matrix above. Adding an endpoint without both fails here.
func TestEveryRouteIsInTheRoleMatrix(t *testing.T) {
	mux := http.NewServeMux()
	for _, rt := range routeTable {
		if rt.perm == permUnset {
			t.Errorf("%s (%s) declares no permission", rt.pattern, rt.action)
		}
		mux.HandleFunc(rt.pattern, func(http.ResponseWriter, *http.Request) {})
	}
	covered := map[string]bool{}
	for _, o := range ops {
		for _, target := range []string{"acme", "globex"} {
			req, err := http.NewRequest(o.method, o.path(target), nil)
			if err != nil {
				t.Fatal(err)
			}
			if _, pattern := mux.Handler(req); pattern != "" {
				covered[pattern] = true
			}
		}
	}
	for _, rt := range routeTable {
		if !covered[rt.pattern] {
			t.Errorf("%s (%s) is registered but missing from the role matrix (ops)", rt.pattern, rt.action)
		}
	}
}

// TestRouteWithoutPermissionIsRefused: a route registered with no permission is refused to
// every caller, the gateway admin included, and its handler never runs.
func TestRouteWithoutPermissionIsRefused(t *testing.T) {
	ran := false
	s := &server{opts: Options{Configs: nil}}
	s.opts.defaults()
	st, err := NewTokenSet([]Token{{Hash: HashToken(secret.FromString(rootToken)), Principal: Principal{Name: "root", Role: RoleGatewayAdmin}}})
	if err != nil {
		t.Fatal(err)
	}
	s.tokens = st
	mux := http.NewServeMux()
	s.handle(mux, route{pattern: "POST /v1/forgotten", action: "forgotten", h: func(*server, *call) (any, error) {
		ran = true
		return "done", nil
	}})
	req := httptest.NewRequest("POST", "/v1/forgotten", nil)
	req.Header.Set("Authorization", "Bearer "+rootToken)
	w := httptest.NewRecorder()
	mux.ServeHTTP(w, req)
	if w.Code != http.StatusForbidden || ran {
		t.Fatalf("a route without a permission answered %d (handler ran: %v): %s", w.Code, ran, w.Body)
	}
}

// TestTokenSetRefusesOneTokenTwice: the same token under two principals is refused, so which
// principal acts never depends on the order of lines (config and tokens file together).
func TestTokenSetRefusesOneTokenTwice(t *testing.T) {
	h := HashToken(secret.FromString(rootToken))
	_, err := NewTokenSet([]Token{{Hash: h, Principal: Principal{Name: "a", Role: RoleTenantDeveloper, Tenant: "acme"}},
		{Hash: h, Principal: Principal{Name: "b", Role: RoleGatewayAdmin}}})
	if err == nil || !strings.Contains(err.Error(), "the same token as admin token 0 (a)") {
		t.Fatalf("duplicate token: %v", err)
	}
	s, err := NewTokenSet([]Token{{Hash: h, Principal: Principal{Name: "a", Role: RoleGatewayAdmin}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Replace([]Token{{Hash: h, Principal: Principal{Name: "a", Role: RoleGatewayAdmin}}, {Hash: h, Principal: Principal{Name: "b", Role: RoleGatewayAdmin}}}); err == nil || s.Len() != 1 {
		t.Errorf("Replace with a duplicate: %v, %d tokens", err, s.Len())
	}
}

// actionOf is the audit action of the route method and path reach.
func actionOf(t *testing.T, method, path string) string {
	t.Helper()
	mux := http.NewServeMux()
	for _, rt := range routeTable {
		mux.HandleFunc(rt.pattern, func(http.ResponseWriter, *http.Request) {})
	}
	req, err := http.NewRequest(method, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, pattern := mux.Handler(req)
	for _, rt := range routeTable {
		if rt.pattern == pattern {
			return rt.action
		}
	}
	return ""
}
