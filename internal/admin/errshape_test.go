package admin

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// TestOneErrorShape: every admin API error is the data plane's JSON shape (failure.Body):
// {"error": {"status", "kind", "message"}}, for refused logins, refused roles, unknown routes,
// bad bodies and conflicts alike.
func TestOneErrorShape(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		token, method, path, body string
		status                    int
		kind                      string
	}{
		{"", "GET", "/v1/config", "", 401, "unauthenticated"},
		{"wrong-token", "GET", "/v1/config", "", 401, "unauthenticated"},
		{acmeDevTok, "POST", "/v1/tenants", `{"name":"x"}`, 403, "forbidden"},
		{rootToken, "GET", "/v1/nothing-here", "", 404, "not_found"},
		{rootToken, "POST", "/v1/tenants", `{"nme":"x"}`, 400, "bad_request"},
		{rootToken, "POST", "/v1/tenants", `{"name":"acme"}`, 409, "conflict"},
	} {
		status, body := e.do(t, tc.token, tc.method, tc.path, tc.body)
		var got struct {
			Error struct {
				Status  int    `json:"status"`
				Kind    string `json:"kind"`
				Message string `json:"message"`
			} `json:"error"`
		}
		if err := json.Unmarshal([]byte(body), &got); err != nil {
			t.Errorf("%s %s: body is not the error shape: %v\n%s", tc.method, tc.path, err, body)
			continue
		}
		if status != tc.status || got.Error.Status != tc.status || got.Error.Kind != tc.kind || got.Error.Message == "" {
			t.Errorf("%s %s: %d %+v, want %d kind %s", tc.method, tc.path, status, got.Error, tc.status, tc.kind)
		}
	}
}

// TestFirstTenantOnTenantlessConfig: adding the first tenant to a config whose providers have
// no tenant is refused with what to do instead (one POST /v1/config), not with a validation
// error about providers[0].tenant.
func TestFirstTenantOnTenantlessConfig(t *testing.T) {
	e := newEnv(t)
	status, body := e.do(t, rootToken, "POST", "/v1/config",
		"providers:\n  - name: pay\n    hosts: [pay.egress.local]\n    upstream: {url: \"https://pay.example\"}\n")
	if status != http.StatusOK {
		t.Fatalf("apply a config without tenants: %d %s", status, body)
	}
	status, body = e.do(t, rootToken, "POST", "/v1/tenants", `{"name":"acme"}`)
	if status != http.StatusConflict || !strings.Contains(body, "POST /v1/config") || !strings.Contains(body, "pay") {
		t.Errorf("first tenant: %d %s", status, body)
	}
}

// TestDryRunFetchTokenIsNotForDevelopers: fetching a token is not read-only (a provider may
// revoke the fleet's live token when it issues one), so a tenant developer may not ask a dry run
// for it; a tenant admin may.
func TestDryRunFetchTokenIsNotForDevelopers(t *testing.T) {
	e := newEnv(t)
	raw := "GET /x HTTP/1.1\r\nHost: acme-pay.egress.local\r\n\r\n"
	if status, body := e.do(t, acmeDevTok, "POST", "/v1/tenants/acme/providers/acme-pay/sign?fetch_token=true", raw); status != http.StatusForbidden {
		t.Errorf("developer with fetch_token: %d %s", status, body)
	}
	if status, body := e.do(t, acmeDevTok, "POST", "/v1/tenants/acme/providers/acme-pay/sign", raw); status != http.StatusOK {
		t.Errorf("developer without fetch_token: %d %s", status, body)
	}
	if status, body := e.do(t, acmeAdminTok, "POST", "/v1/tenants/acme/providers/acme-pay/sign?fetch_token=true", raw); status != http.StatusOK {
		t.Errorf("tenant admin with fetch_token: %d %s", status, body)
	}
}
