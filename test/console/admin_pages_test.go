package console

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/keygate/keygate/internal/tenancy"
	"github.com/keygate/keygate/internal/vaulttest"
)

// TestCredentialsPage: a tenant admin issues a credential (its AppKey shown once, copied with
// the copy button, in no storage, gone when the page is left) and revokes it; a developer is
// offered neither; another tenant's credentials are not listed.
func TestCredentialsPage(t *testing.T) {
	g := startGateway(t)
	browser := newBrowser(t)
	tb := newTab(t, browser, g.url)
	tb.login(acmeAdmin)
	tb.page("#/credentials", "#cred-table")
	if list := tb.text("#cred-list"); !strings.Contains(list, "acme-svc") || strings.Contains(tb.html(), "globex") {
		t.Fatalf("credentials listed: %q", list)
	}
	tb.do("issue a credential", chromedp.SendKeys(chromedp.ID("cred-id"), "console-key"),
		chromedp.Click(chromedp.ID("cred-issue")), chromedp.WaitVisible(chromedp.ID("cred-key")))
	key := tb.text("#cred-key")
	// The list is drawn again after the key is shown: wait for it rather than read it once.
	tb.do("the list shows the new credential", chromedp.Poll[chromedp.Void](`document.getElementById('cred-list').textContent.includes('console-key')`, chromedp.WithPollingTimeout(10*time.Second)))
	if len(key) < 20 {
		t.Fatalf("issued key of %d characters, want an AppKey", len(key)) // never the key itself
	}
	// The clipboard needs a user gesture and a permission headless Chromium does not give: the
	// test stands in for it and checks the copy button hands it the key.
	tb.do("copy", chromedp.Evaluate[chromedp.Void](`navigator.clipboard.writeText = async (s) => { window.__copied = s; }`),
		chromedp.Click(chromedp.ID("cred-copy")), chromedp.WaitVisible(chromedp.CSS("#cred-copied")))
	tb.shot("credentials-issued")
	got, err := chromedp.Run(tb.ctx, chromedp.Evaluate[string](`window.__copied + '|' + JSON.stringify(sessionStorage) + '|' + JSON.stringify(localStorage) + '|' + document.cookie + '|' + location.href`))
	if err != nil {
		t.Fatal(err)
	}
	copied, rest, _ := strings.Cut(got, "|")
	if copied != key {
		t.Fatalf("the copy button copied %q, want the key", copied)
	}
	if strings.Contains(rest, key) {
		t.Fatal("the issued key is kept in storage, a cookie or the URL")
	}
	if !credentialStored(t, g, "console-key") {
		t.Fatal("the credential was not stored")
	}
	tb.page("#/providers", "#providers")
	tb.page("#/credentials", "#cred-table")
	if strings.Contains(tb.html(), key) {
		t.Fatal("the key is shown again after the page was left")
	}
	tb.do("revoke", chromedp.Click(chromedp.CSS(`button.revoke[data-id="console-key"]`)), chromedp.WaitVisible(chromedp.ID("cred-revoked")))
	// The page draws the list before the notice; poll anyway so a slow redraw is not a failure.
	tb.do("the list drops the revoked credential", chromedp.Poll[chromedp.Void](`!document.getElementById('cred-list').textContent.includes('console-key')`, chromedp.WithPollingTimeout(10*time.Second)))
	if credentialStored(t, g, "console-key") {
		t.Fatal("the revoked credential is still there")
	}
	tb.noProblems()

	dev := newTab(t, browser, g.url)
	dev.login(acmeDev)
	dev.page("#/credentials", "#cred-none")
	if strings.Contains(dev.html(), `id="cred-issue"`) || strings.Contains(dev.html(), `id="sec-write"`) {
		t.Fatal("a developer is offered to issue credentials or write secrets")
	}
	dev.noProblems()
}

// credentialStored: the running config's tenants hold credential id.
func credentialStored(t *testing.T, g *gateway, id string) bool {
	t.Helper()
	tenants := g.api(t, gatewayToken, "GET", "/v1/config", "")["config"].(map[string]any)["tenants"]
	return strings.Contains(jsonOf(t, tenants), `"id":"`+id+`"`)
}

// TestSecretRotationPage: with keys in a real Vault, a tenant admin writes a new version of a
// secret from the write-only form with check-and-set: the page shows the new KV version and
// the config version that pins it, the value field is emptied, and the value is never in the
// page; a stale cas is refused.
func TestSecretRotationPage(t *testing.T) {
	v := vaulttest.Start(t)
	v.WriteKV(t, "keygate/tenants/acme/demo", map[string]string{"app_secret": secretValues["app_secret"],
		"aes_key": secretValues["aes_key"], "aes_iv": secretValues["aes_iv"]})
	v.WriteKV(t, "keygate/tenants/acme/static", map[string]string{"api_key": secretValues["acme_key"]})
	v.WriteKV(t, "keygate/tenants/globex/static", map[string]string{"api_key": secretValues["globex_key"]})
	ks := fmt.Sprintf("keystore: {type: vault, vault: {address: %q, auth: {method: token, token_file: %q}}}",
		v.Addr(), vaulttest.WriteSecretFile(t, "token", v.RootToken()))
	g := startGatewayWith(t, ks)
	const rotated = "rotated-acme-static-key-77aa31"
	browser := newBrowser(t)
	tb := newTab(t, browser, g.url)
	tb.login(acmeAdmin)
	tb.page("#/credentials", "#sec-write")
	if typ, _ := chromedp.Run(tb.ctx, chromedp.Evaluate[string](`document.getElementById('sec-value').type`)); typ != "password" {
		t.Fatalf("the value field is of type %q", typ)
	}
	write := func(cas string) {
		tb.do("write the secret",
			chromedp.Evaluate[chromedp.Void](`for (const id of ['sec-name','sec-field','sec-value','sec-cas']) document.getElementById(id).value = ''`),
			chromedp.SendKeys(chromedp.ID("sec-name"), "static"), chromedp.SendKeys(chromedp.ID("sec-field"), "api_key"),
			chromedp.SendKeys(chromedp.ID("sec-value"), rotated), chromedp.SendKeys(chromedp.ID("sec-cas"), cas),
			chromedp.Click(chromedp.ID("sec-write")))
	}
	write("1")
	tb.do("the new version is shown", chromedp.WaitVisible(chromedp.CSS("#sec-result.notice")))
	if got := tb.text("#sec-result"); !strings.Contains(got, "is now version 2") || !strings.Contains(got, "config version v2") {
		t.Fatalf("result %q", got)
	}
	if val, _ := chromedp.Run(tb.ctx, chromedp.Value(chromedp.ID("sec-value"))); val != "" {
		t.Fatal("the value field still holds the value")
	}
	tb.shot("secret-rotated")
	if strings.Contains(tb.html(), rotated) {
		t.Fatal("the page holds the written value")
	}
	tb.noProblems()
	write("1") // stale: the secret is at version 2 now
	tb.do("a stale cas is refused", chromedp.WaitVisible(chromedp.ID("error")))
	if e := tb.errorLine(); !strings.Contains(e, "409") && !strings.Contains(e, "400") {
		t.Fatalf("stale cas: %q", e)
	}
	if strings.Contains(tb.html(), rotated) || strings.Contains(jsonOf(t, g.api(t, gatewayToken, "GET", "/v1/audit", "")), rotated) {
		t.Fatal("the written value is in the page or the audit log")
	}
	tb.page("#/providers", "#providers")
	if p := tb.text("#providers"); !strings.Contains(p, "secret/keygate/tenants/acme/static#api_key") || !strings.Contains(p, "pinned v2") {
		t.Fatalf("the providers page does not pin the new version:\n%s", p)
	}
}

// signThroughExtProc sends one request for host through keygate's ext_proc server, as Envoy
// would, with the tenant key appKey ("" for none).
func signThroughExtProc(t *testing.T, g *gateway, host, appKey string) {
	t.Helper()
	conn, err := grpc.NewClient(g.extProc, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close() }()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	stream, err := extprocv3.NewExternalProcessorClient(conn).Process(ctx)
	if err != nil {
		t.Fatal(err)
	}
	hs := []*corev3.HeaderValue{{Key: ":authority", RawValue: []byte(host)}, {Key: ":path", RawValue: []byte("/x")}, {Key: ":method", RawValue: []byte("GET")}}
	if appKey != "" {
		hs = append(hs, &corev3.HeaderValue{Key: tenancy.TenantKeyHeader, RawValue: []byte(appKey)})
	}
	if err := stream.Send(&extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_RequestHeaders{
		RequestHeaders: &extprocv3.HttpHeaders{Headers: &corev3.HeaderMap{Headers: hs}, EndOfStream: true}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := stream.Recv(); err != nil {
		t.Fatal(err)
	}
}

// TestMetricsPage: requests through the ext_proc server show up per provider on the metrics
// page, which polls; acme's developer sees acme's providers only.
func TestMetricsPage(t *testing.T) {
	g := startGateway(t)
	appKey := g.api(t, acmeAdmin, "POST", "/v1/tenants/acme/credentials", "")["app_key"].(string)
	for range 3 {
		signThroughExtProc(t, g, "acme-static.egress.local", appKey)
	}
	globexKey := g.api(t, gatewayToken, "POST", "/v1/tenants/globex/credentials", "")["app_key"].(string)
	signThroughExtProc(t, g, "globex-pay.egress.local", globexKey)
	browser := newBrowser(t)
	tb := newTab(t, browser, g.url)
	tb.login(acmeDev)
	tb.page("#/metrics", "#metrics-table")
	row := func() string {
		got, err := chromedp.Run(tb.ctx, chromedp.Evaluate[string](`[...document.querySelectorAll('#metrics-table tbody tr')].map((r) => [...r.cells].map((c) => c.textContent).join(' ')).join('\n')`))
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	if got := row(); !strings.HasPrefix(got, "acme-static acme 3 0 ") || strings.Count(got, "\n") != 0 || strings.Contains(tb.html(), "globex") {
		t.Fatalf("metrics rows:\n%s", got)
	}
	tb.shot("metrics")
	// The page polls: a new request appears without a reload.
	signThroughExtProc(t, g, "acme-static.egress.local", appKey)
	deadline := time.Now().Add(15 * time.Second)
	for !strings.HasPrefix(row(), "acme-static acme 4 0 ") {
		if time.Now().After(deadline) {
			t.Fatalf("the page did not refresh: %q", row())
		}
		time.Sleep(200 * time.Millisecond)
	}
	tb.noProblems()
	admin := g.api(t, gatewayToken, "GET", "/v1/metrics/providers", "")
	if s := jsonOf(t, admin); !strings.Contains(s, "globex-pay") || !strings.Contains(s, "acme-static") {
		t.Fatalf("the gateway admin's metrics: %s", s)
	}
}

// TestRestartRequiredNotice: a version that moves listen.admin is served, but the admin
// listener stays where keygate started. The providers page tells a gateway admin which
// settings wait for a restart (paths, never values); a tenant admin is told nothing.
func TestRestartRequiredNotice(t *testing.T) {
	g := startGateway(t)
	yaml := g.api(t, gatewayToken, "GET", "/v1/config", "")["yaml"].(string)
	moved := strings.Replace(yaml, `admin: "127.0.0.1:0"`, `admin: "sentinel-admin-4c1d.invalid:0"`, 1)
	if moved == yaml {
		t.Fatal("the test config no longer has the listen.admin line the test changes")
	}
	g.api(t, gatewayToken, "POST", "/v1/config", moved)
	browser := newBrowser(t)
	tb := newTab(t, browser, g.url)
	tb.login(gatewayToken)
	tb.page("#/providers", "#restart-required")
	if got := tb.text("#restart-required"); !strings.Contains(got, "listen.admin (listeners are bound at start)") || strings.Contains(got, "sentinel-admin") {
		t.Fatalf("the restart notice: %q", got)
	}
	tb.noProblems()

	other := newTab(t, browser, g.url)
	other.login(acmeAdmin)
	other.page("#/providers", "#providers")
	if html := other.html(); strings.Contains(html, "restart-required") || strings.Contains(html, "listen.admin") {
		t.Fatal("a tenant admin is shown the restart notice")
	}
}
