package admin

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// TestTenantScopeChecksOneByOne: each check of checkTenantChange refuses on its own, naming
// what was refused, so that dropping any one of them fails this test (issue 26's surviving
// mutants: the gateway sections one at a time, script.file, upstream.ca_file, and a secret
// prefix compared without its trailing separator).
func TestTenantScopeChecksOneByOne(t *testing.T) {
	e := newEnv(t)
	acmeProvider := func(extra string) string {
		return strings.Replace(baseConfig, `    secrets: {app_secret: "secret/keygate/tenants/acme/pay#value"}`,
			`    secrets: {app_secret: "secret/keygate/tenants/acme/pay#value"}`+extra, 1)
	}
	for _, c := range []struct{ name, cfg, want string }{
		{"listen", baseConfig + "listen: {ext_proc: \"127.0.0.1:19999\"}\n", "only a gateway admin may change them"},
		{"keystore", baseConfig + "keystore: {type: file, file: {path: other.yaml}}\n", "only a gateway admin may change them"},
		{"limits", baseConfig + "limits: {max_body_bytes: 99}\n", "only a gateway admin may change them"},
		{"state", baseConfig + "state: {dir: /tmp/elsewhere}\n", "only a gateway admin may change them"},
		{"admin", baseConfig + "admin:\n  tokens: [{name: mine, role: gateway_admin, hash: \"sha256:" + strings.Repeat("ab", 32) + "\"}]\n", "only a gateway admin may change them"},
		{"script file", acmeProvider("\n    script: {file: /etc/passwd}"), "script.file"},
		{"upstream ca_file", strings.Replace(baseConfig, `upstream: {url: "https://pay.acme.example"}`, `upstream: {url: "https://pay.acme.example", ca_file: /etc/ssl/other.pem}`, 1), "upstream.ca_file"},
		{"a sibling tenant's prefix (acme2)", strings.Replace(baseConfig, "secret/keygate/tenants/acme/pay#value", "secret/keygate/tenants/acme2/pay#value", 1), "outside tenant"},
		{"the prefix itself", strings.Replace(baseConfig, "secret/keygate/tenants/acme/pay#value", "secret/keygate/tenants/acme#value", 1), "outside tenant"},
	} {
		status, body := e.do(t, acmeAdminTok, "POST", "/v1/config", c.cfg)
		if status != http.StatusForbidden || !strings.Contains(body, c.want) {
			t.Errorf("%s: got %d, want 403 naming %q: %s", c.name, status, c.want, body)
		}
	}
	if v, _ := e.configs.Current(); v.Number != 1 {
		t.Fatalf("a refused change made version %d", v.Number)
	}
}

// TestTenantAdminKeepsButCannotRepointAScriptFile: a gateway admin gave acme's provider a
// script file (a path on the gateway); acme's admin may change the provider's other fields and
// keep that file, but not point it at another path.
func TestTenantAdminKeepsButCannotRepointAScriptFile(t *testing.T) {
	e := newEnv(t)
	withFile := func(path, url string) string {
		return strings.Replace(baseConfig, `    upstream: {url: "https://pay.acme.example"}`,
			`    upstream: {url: "`+url+`"}`+"\n    script: {file: "+path+"}", 1)
	}
	if status, body := e.do(t, rootToken, "POST", "/v1/config", withFile("/etc/keygate/acme.js", "https://pay.acme.example")); status != http.StatusOK {
		t.Fatalf("gateway admin setting a script file: %d %s", status, body)
	}
	if status, body := e.do(t, acmeAdminTok, "POST", "/v1/config", withFile("/etc/keygate/other.js", "https://pay.acme.example")); status != http.StatusForbidden || !strings.Contains(body, "script.file") {
		t.Fatalf("tenant admin repointing the script file: got %d, want 403 naming script.file: %s", status, body)
	}
	if status, body := e.do(t, acmeAdminTok, "POST", "/v1/config", withFile("/etc/keygate/acme.js", "https://pay2.acme.example")); status != http.StatusOK {
		t.Fatalf("tenant admin changing the upstream of a provider whose script file it keeps: got %d, want 200: %s", status, body)
	}
}

// TestDenialNamesTheTenantOfThePath: a refusal on a tenant's route says which tenant the caller
// may not act on, for both tenant permissions (read: the dry run; manage: providers); on a
// gateway route, it names the permission only.
func TestDenialNamesTheTenantOfThePath(t *testing.T) {
	e := newEnv(t)
	for _, c := range []struct{ name, tok, method, path, body, want string }{
		{"tenant-read", acmeDevTok, "POST", "/v1/tenants/globex/providers/globex-pay/sign", `{}`, `on tenant "globex" (needs tenant-read)`},
		{"tenant-manage", acmeAdminTok, "PUT", "/v1/tenants/globex/providers", `[]`, `on tenant "globex" (needs tenant-manage)`},
		{"gateway-admin", acmeAdminTok, "GET", "/v1/tenants", ``, `may not do this (needs gateway-admin)`},
	} {
		status, body := e.do(t, c.tok, c.method, c.path, c.body)
		var reply struct {
			Error struct{ Message string }
		}
		_ = json.Unmarshal([]byte(body), &reply)
		if status != http.StatusForbidden || !strings.Contains(reply.Error.Message, c.want) {
			t.Errorf("%s: got %d %s, want 403 saying %q", c.name, status, body, c.want)
		}
	}
}

// TestTenantAdminCannotRepointATokenURLAtTheEgressHost: a provider already has a token source
// (set by a gateway admin); its tenant admin may not change the token URL to the egress host,
// and may keep a local token URL a gateway admin set while changing something else.
func TestTenantAdminCannotRepointATokenURLAtTheEgressHost(t *testing.T) {
	e := newEnv(t)
	provider := func(upstream, tokenURL string) string {
		return `[{name: acme-pay, hosts: [acme-pay.egress.local], upstream: {url: "` + upstream + `"}, secrets: {app_secret: "secret/keygate/tenants/acme/pay#value"},
  token: {type: oauth2_client_credentials, url: "` + tokenURL + `", params: {client_id: x, client_secret: app_secret}}}]`
	}
	for _, c := range []struct {
		name, tok, upstream, tokenURL string
		want                          int
	}{
		{"gateway admin sets a public token URL", rootToken, "https://pay.acme.example", "https://auth.acme.example/token", http.StatusOK},
		{"tenant admin moves it to the egress host", acmeAdminTok, "https://pay.acme.example", "http://127.0.0.1:9901/token", http.StatusForbidden},
		{"gateway admin sets a local token sidecar", rootToken, "https://pay.acme.example", "http://127.0.0.1:8080/token", http.StatusOK},
		{"tenant admin keeps it, changes the upstream", acmeAdminTok, "https://pay2.acme.example", "http://127.0.0.1:8080/token", http.StatusOK},
		{"tenant admin moves it to another local port", acmeAdminTok, "https://pay2.acme.example", "http://127.0.0.1:9901/token", http.StatusForbidden},
	} {
		status, body := e.do(t, c.tok, "PUT", "/v1/tenants/acme/providers", provider(c.upstream, c.tokenURL))
		if status != c.want || (c.want == http.StatusForbidden && !strings.Contains(body, "token.url")) {
			t.Fatalf("%s: got %d, want %d (a refusal naming token.url): %s", c.name, status, c.want, body)
		}
	}
}

// TestNoSecretIsWrittenForAnUndefinedTenant: a gateway admin's secret write for a tenant the
// config does not define is a 404, and nothing reaches the secret store (a typo in the tenant
// would otherwise plant a secret under a prefix a tenant created later inherits).
func TestNoSecretIsWrittenForAnUndefinedTenant(t *testing.T) {
	e := newEnv(t)
	status, body := e.do(t, rootToken, "PUT", "/v1/tenants/acmee/secrets/pay", `{"value": "`+writtenSecret+`"}`)
	if status != http.StatusNotFound || !strings.Contains(body, `no tenant`) {
		t.Fatalf("secret write for an undefined tenant: got %d, want 404 naming it: %s", status, body)
	}
	e.kv.mu.Lock()
	defer e.kv.mu.Unlock()
	if len(e.kv.values) != 0 {
		t.Fatalf("the secret store received %d values for an undefined tenant", len(e.kv.values))
	}
}

// TestVersionHistoryListsEveryVersion: the history lists each stored version, newest included;
// a gateway admin sees who made it and why, a tenant role the numbers only.
func TestVersionHistoryListsEveryVersion(t *testing.T) {
	e := newEnv(t)
	changed := strings.Replace(baseConfig, "https://pay.globex.example", "https://pay2.globex.example", 1)
	if status, body := e.do(t, rootToken, "POST", "/v1/config?message=move+globex", changed); status != http.StatusOK {
		t.Fatalf("apply: %d %s", status, body)
	}
	type entry struct {
		Number  int    `json:"number"`
		Author  string `json:"author"`
		Message string `json:"message"`
	}
	list := func(tok string) []entry {
		status, body := e.do(t, tok, "GET", "/v1/config/versions", "")
		var reply struct{ Versions []entry }
		if err := json.Unmarshal([]byte(body), &reply); status != http.StatusOK || err != nil {
			t.Fatalf("history: %d %v %s", status, err, body)
		}
		return reply.Versions
	}
	admin := list(rootToken)
	byNumber := map[int]entry{}
	for _, v := range admin {
		byNumber[v.Number] = v
	}
	if len(admin) != 2 || byNumber[1].Author != "setup" || byNumber[2].Author != "root" || byNumber[2].Message != "move globex" {
		t.Fatalf("gateway admin's history: %+v, want versions 1 (by setup) and 2 (by root, \"move globex\")", admin)
	}
	dev := list(acmeDevTok)
	if len(dev) != 2 {
		t.Fatalf("tenant developer's history: %+v, want both versions", dev)
	}
	for _, v := range dev {
		if v.Author != "" || v.Message != "" {
			t.Fatalf("tenant developer's history names an author or message: %+v", v)
		}
	}
}

// TestTenantAdminIfMatchIsHonoured: a tenant admin's change sent with If-Match of a version
// that is no longer the newest is refused as stale (409), even when it touches only its own
// provider, and nothing is stored.
func TestTenantAdminIfMatchIsHonoured(t *testing.T) {
	e := newEnv(t)
	v2 := strings.Replace(baseConfig, "https://pay.globex.example", "https://pay2.globex.example", 1)
	if status, body := e.do(t, rootToken, "POST", "/v1/config", v2); status != http.StatusOK {
		t.Fatalf("apply: %d %s", status, body)
	}
	mine := strings.Replace(v2, "https://pay.acme.example", "https://pay2.acme.example", 1)
	if status, body := e.do(t, acmeAdminTok, "POST", "/v1/config?base_version=1", mine); status != http.StatusConflict {
		t.Fatalf("tenant admin's change based on version 1 after version 2: got %d, want 409: %s", status, body)
	}
	if v, _ := e.configs.Current(); v.Number != 2 {
		t.Fatalf("a stale change was stored as version %d", v.Number)
	}
	if status, body := e.do(t, acmeAdminTok, "POST", "/v1/config?base_version=2", mine); status != http.StatusOK {
		t.Fatalf("the same change based on version 2: got %d, want 200: %s", status, body)
	}
}

// TestTenantDiffShowsOnlyItsOwnChanges: a diff between two versions that changed two tenants'
// providers shows a tenant role its own tenant's change and nothing of the other's; a gateway
// admin sees both.
func TestTenantDiffShowsOnlyItsOwnChanges(t *testing.T) {
	e := newEnv(t)
	v2 := strings.Replace(strings.Replace(baseConfig, "https://pay.globex.example", "https://pay2.globex.example", 1),
		"https://pay.acme.example", "https://pay2.acme.example", 1)
	if status, body := e.do(t, rootToken, "POST", "/v1/config", v2); status != http.StatusOK {
		t.Fatalf("apply: %d %s", status, body)
	}
	status, body := e.do(t, rootToken, "GET", "/v1/config/diff?from=1&to=2", "")
	if status != http.StatusOK || !strings.Contains(body, "pay2.acme.example") || !strings.Contains(body, "pay2.globex.example") {
		t.Fatalf("gateway admin's diff: %d, want both tenants' changes: %s", status, body)
	}
	for _, tok := range []string{acmeDevTok, acmeAdminTok} {
		status, body := e.do(t, tok, "GET", "/v1/config/diff?from=1&to=2", "")
		if status != http.StatusOK || !strings.Contains(body, "pay2.acme.example") || strings.Contains(body, "globex") {
			t.Fatalf("acme role's diff: %d, want acme's change and nothing of globex: %s", status, body)
		}
	}
}

// TestTenantListNamesEachTenantsOwnProviders: a gateway admin's tenant list has every tenant
// with its credential IDs and its own providers only.
func TestTenantListNamesEachTenantsOwnProviders(t *testing.T) {
	e := newEnv(t)
	status, body := e.do(t, rootToken, "GET", "/v1/tenants", "")
	var reply struct {
		Tenants []struct {
			Name        string
			Credentials []string
			Providers   []string
		}
	}
	if err := json.Unmarshal([]byte(body), &reply); status != http.StatusOK || err != nil {
		t.Fatalf("tenant list: %d %v %s", status, err, body)
	}
	got := map[string]string{}
	for _, tn := range reply.Tenants {
		got[tn.Name] = strings.Join(tn.Credentials, ",") + " / " + strings.Join(tn.Providers, ",")
	}
	if len(got) != 2 || got["acme"] != "k1 / acme-pay" || got["globex"] != "k1 / globex-pay" {
		t.Fatalf("tenant list: %v, want acme: k1 / acme-pay and globex: k1 / globex-pay", got)
	}
}

// TestGatewayRollbackMessageAndIfMatch: a gateway admin's rollback is recorded with the
// caller's message, or "rollback to version N" without one; with If-Match it is refused when
// the version it names is no longer the newest, and applied when it is.
func TestGatewayRollbackMessageAndIfMatch(t *testing.T) {
	e := newEnv(t)
	v2 := strings.Replace(baseConfig, "https://pay.globex.example", "https://pay2.globex.example", 1)
	if status, body := e.do(t, rootToken, "POST", "/v1/config", v2); status != http.StatusOK {
		t.Fatalf("apply: %d %s", status, body)
	}
	if status, body := e.do(t, rootToken, "POST", "/v1/config/rollback?base_version=1", `{"version": 1}`); status != http.StatusConflict {
		t.Fatalf("rollback based on version 1 while 2 is the newest: got %d, want 409: %s", status, body)
	}
	if status, body := e.do(t, rootToken, "POST", "/v1/config/rollback?base_version=2", `{"version": 1}`); status != http.StatusOK {
		t.Fatalf("rollback based on the newest version: got %d, want 200: %s", status, body)
	}
	if status, body := e.do(t, rootToken, "POST", "/v1/config/rollback", `{"version": 2, "message": "globex again"}`); status != http.StatusOK {
		t.Fatalf("rollback with a message: %d %s", status, body)
	}
	want := map[int]string{3: "rollback to version 1", 4: "globex again"}
	for n, msg := range want {
		v, err := e.configs.Get(t.Context(), n)
		if err != nil || v.Message != msg {
			t.Fatalf("version %d: message %q (err %v), want %q", n, v.Message, err, msg)
		}
	}
}

// TestProviderReplaceMessage: a provider replacement is recorded with the caller's message, or
// "replace providers of tenant T" without one.
func TestProviderReplaceMessage(t *testing.T) {
	e := newEnv(t)
	body := func(url string) string {
		return `[{name: acme-pay, hosts: [acme-pay.egress.local], upstream: {url: "` + url + `"}, secrets: {app_secret: "secret/keygate/tenants/acme/pay#value"}}]`
	}
	if status, reply := e.do(t, acmeAdminTok, "PUT", "/v1/tenants/acme/providers", body("https://pay2.acme.example")); status != http.StatusOK {
		t.Fatalf("replace: %d %s", status, reply)
	}
	if status, reply := e.do(t, acmeAdminTok, "PUT", "/v1/tenants/acme/providers?message=new+endpoint", body("https://pay3.acme.example")); status != http.StatusOK {
		t.Fatalf("replace with a message: %d %s", status, reply)
	}
	for n, msg := range map[int]string{2: "replace providers of tenant acme", 3: "new endpoint"} {
		v, err := e.configs.Get(t.Context(), n)
		if err != nil || v.Message != msg {
			t.Fatalf("version %d: message %q (err %v), want %q", n, v.Message, err, msg)
		}
	}
}

// TestCredentialIDsAndRevokingAnUnknownOne: a credential issued without an ID is named after
// the tenant's count ("key-2" next to k1); revoking an ID the tenant does not have is a 404 and
// changes nothing.
func TestCredentialIDsAndRevokingAnUnknownOne(t *testing.T) {
	e := newEnv(t)
	status, body := e.do(t, acmeAdminTok, "POST", "/v1/tenants/acme/credentials", "")
	var issued struct{ ID string }
	if err := json.Unmarshal([]byte(body), &issued); status != http.StatusOK || err != nil || issued.ID != "key-2" {
		t.Fatalf("issue without an ID: %d, id %q, want key-2", status, issued.ID)
	}
	if status, body := e.do(t, acmeAdminTok, "DELETE", "/v1/tenants/acme/credentials/nope", ""); status != http.StatusNotFound || !strings.Contains(body, "no credential") {
		t.Fatalf("revoking an unknown credential: got %d, want 404: %s", status, body)
	}
	if v, _ := e.configs.Current(); v.Number != 2 {
		t.Fatalf("revoking an unknown credential stored version %d", v.Number)
	}
}

// TestSecretWriteWithoutCASIsUnconditional: without "cas" a secret write does not depend on the
// secret's current version: writes in a row all succeed, each a new version; with a stale
// "cas" the write is refused.
func TestSecretWriteWithoutCASIsUnconditional(t *testing.T) {
	e := newEnv(t)
	for want := 2; want <= 4; want++ {
		status, body := e.do(t, acmeAdminTok, "PUT", "/v1/tenants/acme/secrets/pay", `{"value": "`+writtenSecret+`"}`)
		var reply struct{ Version int }
		if err := json.Unmarshal([]byte(body), &reply); status != http.StatusOK || err != nil || reply.Version != want {
			t.Fatalf("write %d without cas: %d, version %d, want 200 and version %d", want-1, status, reply.Version, want)
		}
	}
	if status, _ := e.do(t, acmeAdminTok, "PUT", "/v1/tenants/acme/secrets/pay", `{"value": "`+writtenSecret+`", "cas": 1}`); status == http.StatusOK {
		t.Fatal("a write with cas 1 on version 4 was accepted")
	}
}

// TestSecretNameLengthLimit: a secret name of 63 characters is accepted, one of 64 refused.
func TestSecretNameLengthLimit(t *testing.T) {
	e := newEnv(t)
	for _, c := range []struct {
		n    int
		want int
	}{{63, http.StatusOK}, {64, http.StatusBadRequest}} {
		status, body := e.do(t, acmeAdminTok, "PUT", "/v1/tenants/acme/secrets/"+strings.Repeat("s", c.n), `{"value": "`+writtenSecret+`"}`)
		if status != c.want {
			t.Errorf("secret name of %d characters: got %d, want %d: %s", c.n, status, c.want, body)
		}
	}
}

// TestDryRunRepliesWithTheSignedRequest: a dry run's reply is what the dry runner produced
// (here the fake's rendering of the tenant, provider and redacted signature).
func TestDryRunRepliesWithTheSignedRequest(t *testing.T) {
	e := newEnv(t)
	status, body := e.do(t, acmeDevTok, "POST", "/v1/tenants/acme/providers/acme-pay/sign", "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	if status != http.StatusOK || body != `{"tenant":"acme","provider":"acme-pay","signature":"[redacted]"}` {
		t.Fatalf("dry run: %d %q, want the dry runner's output", status, body)
	}
}
