// Package console drives keygate's web console (/ui/) in real headless Chromium: login per
// role and tenant scope, no secret value ever in the page, the CSP header and no CSP
// violation, the playground's redacted dry run, and rollback from the UI (docs/console.md).
package console

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	kgconsole "github.com/keygate/keygate/internal/console"
	"github.com/keygate/keygate/internal/dryrun"
)

const placeholderToken = dryrun.PlaceholderToken

// hasLine: a line of text starts with prefix and, trimmed, ends with suffix.
func hasLine(text, prefix, suffix string) bool {
	for _, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(l, prefix) && strings.HasSuffix(strings.TrimSpace(l), suffix) {
			return true
		}
	}
	return false
}

// TestLoginPerRole: each role logs in with its token and sees what the API lets it see: the
// gateway admin every tenant, a tenant admin and a developer their own tenant only, all of
// them secret references and pins, never a value. A wrong token stays on the login page.
func TestLoginPerRole(t *testing.T) {
	g := startGateway(t)
	browser := newBrowser(t)
	for _, c := range []struct {
		name, token, who string
		sees, hidden     []string
		rollback         bool
	}{
		{"gateway admin", gatewayToken, "root · gateway_admin", []string{"acme-pay", "acme-script", "globex-pay", "globex-svc",
			"secret/keygate/tenants/acme/demo#app_secret", "secret/keygate/tenants/globex/static#api_key"}, nil, true},
		{"tenant admin", acmeAdmin, "acme-admin · tenant_admin · tenant acme", []string{"acme-pay", "acme-script", "acme-svc",
			"secret/keygate/tenants/acme/demo#aes_key"}, []string{"globex"}, true},
		{"tenant developer", acmeDev, "acme-dev · tenant_developer · tenant acme", []string{"acme-pay", "acme-script",
			"secret/keygate/tenants/acme/demo#aes_iv", "aes_cbc → simple"}, []string{"globex"}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			tb := newTab(t, browser, g.url)
			tb.login(c.token)
			if who := tb.text("#who"); who != c.who {
				t.Fatalf("header says %q, want %q", who, c.who)
			}
			page := tb.text("main")
			for _, s := range c.sees {
				if !strings.Contains(page, s) {
					t.Errorf("providers page lacks %q:\n%s", s, page)
				}
			}
			for _, hash := range []string{"#/providers", "#/versions", "#/audit", "#/playground"} {
				sel := map[string]string{"#/providers": "#providers", "#/versions": "#versions", "#/audit": "#audit", "#/playground": "#pg-request"}[hash]
				tb.page(hash, sel)
				tb.shot(strings.ReplaceAll(c.name, " ", "-") + "-" + strings.TrimPrefix(hash, "#/"))
				html := tb.html()
				for _, s := range c.hidden {
					if strings.Contains(html, s) {
						t.Errorf("%s shows %q to %s", hash, s, c.name)
					}
				}
				tb.noLeak(hash)
			}
			tb.page("#/versions", "#versions")
			if got := strings.Contains(tb.html(), `id="rollback"`); got != c.rollback {
				t.Errorf("rollback offered: %v, want %v", got, c.rollback)
			}
			tb.noProblems()
		})
	}
	t.Run("a developer's token cannot reveal or reach another tenant, whatever the page sends", func(t *testing.T) {
		tb := newTab(t, browser, g.url)
		tb.login(acmeDev)
		// The page's own fetch with the stored token, as a developer editing the page could send it.
		got, err := chromedp.Run(tb.ctx, chromedp.Evaluate[[]int](`(async () => {
			const auth = { Authorization: 'Bearer ' + sessionStorage.getItem('keygate.console.token') };
			const req = 'POST /x HTTP/1.1\r\nHost: acme-static.egress.local\r\n\r\n';
			const calls = [
				['POST', '/v1/tenants/acme/providers/acme-static/sign?reveal=true', req],
				['POST', '/v1/tenants/acme/providers/acme-static/sign?explain=true&fetch_token=true', req],
				['POST', '/v1/providers/acme-static/sign', req],
				['GET', '/v1/audit?tenant=globex'],
				['POST', '/v1/tenants/globex/providers/globex-pay/sign', req],
				['POST', '/v1/config/rollback', '{"version": 1}'],
			];
			const out = [];
			for (const [method, path, body] of calls) out.push((await fetch(path, { method, headers: auth, body })).status);
			return out;
		})()`, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatal(err)
		}
		for i, status := range got {
			if status != http.StatusForbidden {
				t.Errorf("call %d answered %d, want 403 (all: %v)", i, status, got)
			}
		}
	})
	t.Run("a wrong token is refused", func(t *testing.T) {
		tb := newTab(t, browser, g.url)
		tb.do("log in with a wrong token",
			chromedp.Navigate(g.url+"/ui/"),
			chromedp.WaitVisible(chromedp.ID("token")),
			chromedp.SendKeys(chromedp.ID("token"), acmeDev+"x"),
			chromedp.Click(chromedp.ID("login")),
			chromedp.WaitVisible(chromedp.CSS(".login .notice")),
		)
		if s := tb.text(".login .notice"); !strings.Contains(s, "not accepted") {
			t.Fatalf("login page says %q", s)
		}
		if tb.text("#nav") != "" && !strings.Contains(tb.html(), `id="nav" hidden`) {
			t.Fatal("the navigation is shown without a login")
		}
	})
	t.Run("the token is not in a URL, a cookie or localStorage", func(t *testing.T) {
		tb := newTab(t, browser, g.url)
		tb.login(acmeDev)
		got, err := chromedp.Run(tb.ctx, chromedp.Evaluate[string](
			`location.href + '|' + document.cookie + '|' + JSON.stringify(localStorage) + '|' + document.referrer`))
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(got, acmeDev) {
			t.Fatalf("the token is readable outside sessionStorage: %q", got)
		}
	})
}

// TestCSP: the console's document carries the strict CSP and its companion headers, nothing
// the console does violates it, and an inline script injected into the page does not run.
func TestCSP(t *testing.T) {
	g := startGateway(t)
	browser := newBrowser(t)
	tb := newTab(t, browser, g.url)
	resp, err := chromedp.Run(tb.ctx, chromedp.NavigateResponse(g.url+"/ui/"))
	if err != nil {
		t.Fatal(err)
	}
	header := func(h network.Headers, name string) string {
		for k, v := range h {
			if strings.EqualFold(k, name) {
				s, _ := v.(string)
				return s
			}
		}
		return ""
	}
	for name, want := range map[string]string{
		"Content-Security-Policy": kgconsole.ContentSecurityPolicy, "X-Content-Type-Options": "nosniff",
		"Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY",
	} {
		if got := header(resp.Headers, name); got != want {
			t.Errorf("%s: %q, want %q", name, got, want)
		}
	}
	if resp.Status != http.StatusOK {
		t.Fatalf("status %d", resp.Status)
	}
	// A tenant admin's refused request names a "tenant" of its choosing, which the audit log
	// keeps; the gateway admin's audit page must show it as text, not run it.
	xss := `<img src=x onerror="window.__inlineRan=true">`
	if status := g.status(t, acmeAdmin, "POST", "/v1/tenants/"+url.PathEscape(xss)+"/credentials", ""); status != http.StatusForbidden {
		t.Fatalf("the probe answered %d", status)
	}
	// Every page, as the gateway admin (the most to draw), then the playground's dry run.
	tb.login(gatewayToken)
	for _, p := range [][2]string{{"#/providers", "#providers"}, {"#/versions", "#versions"}, {"#/audit", "#audit"}, {"#/playground", "#pg-request"}} {
		tb.page(p[0], p[1])
	}
	tb.do("dry run", chromedp.Click(chromedp.ID("pg-run")), chromedp.WaitVisible(chromedp.CSS("#pg-explain pre")))
	tb.page("#/audit", "#audit")
	if !strings.Contains(tb.text("#audit"), xss) {
		t.Fatalf("the audit page does not show the probe as text:\n%s", tb.text("#audit"))
	}
	if ran, _ := chromedp.Run(tb.ctx, chromedp.Evaluate[bool](`window.__inlineRan === true || document.querySelector('#audit img') !== null`)); ran {
		t.Fatal("markup from an audit event was parsed into the page")
	}
	tb.noProblems()

	// An attacker's inline code (as an XSS would inject it: a script element, an event handler
	// attribute, markup through innerHTML) is refused, and the page reports each refusal as a
	// policy violation.
	type probe struct {
		Ran        bool     `json:"ran"`
		Violations []string `json:"violations"`
	}
	got, err := chromedp.Run(tb.ctx, chromedp.Evaluate[probe](`(async () => {
		const violations = [];
		document.addEventListener('securitypolicyviolation', (e) => violations.push(e.violatedDirective));
		const attempts = [
			() => { const s = document.createElement('script'); s.text = 'window.__inlineRan = true'; document.body.appendChild(s); },
			() => { const d = document.createElement('div'); d.setAttribute('onclick', 'window.__inlineRan = true'); document.body.appendChild(d); d.click(); },
			() => { const d = document.createElement('div'); d.innerHTML = '<img src=x onerror="window.__inlineRan = true">'; document.body.appendChild(d); },
		];
		for (const a of attempts) { try { a(); } catch (e) { /* refused */ } }
		await new Promise((r) => setTimeout(r, 200));
		return { ran: window.__inlineRan === true, violations };
	})()`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	if got.Ran {
		t.Fatal("injected inline code ran: the CSP is not enforced")
	}
	if len(got.Violations) < 3 {
		t.Fatalf("%d policy violations reported for 3 injections (%v): the CSP is not enforced as written", len(got.Violations), got.Violations)
	}
}

// TestPlaygroundDryRun: a developer runs the built-in steps, the article's script and a static
// API key in the playground; the page shows the request that would leave and what each step
// signed, the key [redacted], and never a secret value in any form.
func TestPlaygroundDryRun(t *testing.T) {
	g := startGateway(t)
	browser := newBrowser(t)
	tb := newTab(t, browser, g.url)
	tb.login(acmeDev)
	tb.page("#/playground", "#pg-request")
	for i, c := range []struct {
		provider, output, explain string
	}{
		{"acme-pay", `"appKey":"acme-app"`, "simple, string to sign"},
		{"acme-script", "Authorization: " + placeholderToken, "script, reqBody.buildSignStr()"},
		{"acme-static", "Authorization: Bearer [redacted]", ""},
	} {
		tb.do("choose "+c.provider, chromedp.SetValue(chromedp.ID("pg-provider"), strconv.Itoa(i)),
			chromedp.Evaluate[chromedp.Void](`document.getElementById('pg-provider').dispatchEvent(new Event('change'))`))
		done := "#pg-explain pre"
		if c.explain == "" {
			done = "#pg-output.done"
		}
		tb.do("dry run of "+c.provider, chromedp.Click(chromedp.ID("pg-run")), chromedp.WaitVisible(chromedp.CSS(done)))
		out, explain := tb.text("#pg-output"), tb.text("#pg-explain")
		if !strings.HasPrefix(out, "POST /") || !strings.Contains(out, c.output) {
			t.Errorf("%s: the request that would leave lacks %q:\n%s", c.provider, c.output, out)
		}
		if !strings.Contains(explain, c.explain) {
			t.Errorf("%s: what each step signed lacks %q:\n%s", c.provider, c.explain, explain)
		}
		if c.provider == "acme-script" && !strings.Contains(tb.text("#pg-notes"), "not fetched") {
			t.Errorf("the placeholder token's note is missing: %q", tb.text("#pg-notes"))
		}
		tb.shot("playground-" + c.provider)
		tb.noLeak("playground " + c.provider)
	}
	if strings.Contains(tb.html(), `id="pg-save"`) {
		t.Error("a developer is offered to save the script")
	}
	tb.noProblems()
}

// TestRollbackFromUI: a tenant admin rolls its providers back from the versions page; the API
// then holds a new version recording the rollback and the message, with v1's provider back.
func TestRollbackFromUI(t *testing.T) {
	g := startGateway(t)
	cfg := g.api(t, acmeAdmin, "GET", "/v1/config", "")
	// Version 2: acme-pay pointed elsewhere, through the API as a tenant admin would.
	providers := cfg["config"].(map[string]any)["providers"].([]any)
	for _, p := range providers {
		pm := p.(map[string]any)
		if pm["name"] == "acme-pay" {
			pm["upstream"].(map[string]any)["url"] = "https://elsewhere.acme.example"
		}
	}
	g.api(t, acmeAdmin, "PUT", "/v1/tenants/acme/providers?message=move", jsonOf(t, providers))

	browser := newBrowser(t)
	tb := newTab(t, browser, g.url)
	tb.login(acmeAdmin)
	tb.page("#/versions", "#diff")
	if d := tb.text("#diff"); !hasLine(d, "-", "url: https://pay.acme.example/v1") || !hasLine(d, "+", "url: https://elsewhere.acme.example") {
		t.Fatalf("diff v1..v2:\n%s", d)
	}
	tb.do("roll back to v1",
		chromedp.SetValue(chromedp.ID("rollback-version"), "1"),
		chromedp.SendKeys(chromedp.ID("rollback-message"), "undo the move"),
		chromedp.Click(chromedp.ID("rollback")),
		chromedp.WaitVisible(chromedp.CSS("#rollback-result.notice")),
	)
	if s := tb.text("#rollback-result"); !strings.Contains(s, "new version v3") {
		t.Fatalf("rollback result %q", s)
	}
	tb.shot("versions-rollback")
	vs := g.api(t, gatewayToken, "GET", "/v1/config/versions", "")["versions"].([]any)
	last := vs[len(vs)-1].(map[string]any)
	if last["number"] != 3.0 || last["message"] != "undo the move" || last["author"] != "acme-admin" || last["tenant"] != "acme" {
		t.Fatalf("newest version %v", last)
	}
	now := g.api(t, gatewayToken, "GET", "/v1/config", "")
	if !strings.Contains(now["yaml"].(string), "https://pay.acme.example/v1") {
		t.Fatalf("the running config was not rolled back:\n%s", now["yaml"])
	}
	tb.noProblems()
}

// TestPlaygroundSave: a tenant admin edits a script in the playground and saves it: a new
// config version runs the edited script; a script that does not compile is refused with the
// error on the page, and the running version stays.
func TestPlaygroundSave(t *testing.T) {
	g := startGateway(t)
	browser := newBrowser(t)
	tb := newTab(t, browser, g.url)
	tb.login(acmeAdmin)
	tb.page("#/playground", "#pg-request")
	choose := func() {
		tb.do("choose acme-script", chromedp.SetValue(chromedp.ID("pg-provider"), "1"),
			chromedp.Evaluate[chromedp.Void](`document.getElementById('pg-provider').dispatchEvent(new Event('change'))`),
			chromedp.WaitVisible(chromedp.ID("pg-save")))
	}
	choose()
	script, err := chromedp.Run(tb.ctx, chromedp.Value(chromedp.ID("pg-script")))
	if err != nil {
		t.Fatal(err)
	}
	edited := strings.Replace(script, "reqBody.set('sign', sign);", "reqBody.set('sign', sign);\n  reqBody.set('edited', 'in the console');", 1)
	if edited == script {
		t.Fatal("the article's script changed: update the edit")
	}
	tb.do("save", chromedp.SetValue(chromedp.ID("pg-script"), edited), chromedp.Click(chromedp.ID("pg-save")),
		chromedp.WaitVisible(chromedp.CSS("#pg-saved.notice")))
	if s := tb.text("#pg-saved"); !strings.Contains(s, "v2") {
		t.Fatalf("saved: %q", s)
	}
	tb.do("dry run of the saved script", chromedp.Click(chromedp.ID("pg-run")), chromedp.WaitVisible(chromedp.CSS("#pg-output.done")))
	if out := tb.text("#pg-output"); !strings.Contains(out, `"edited":"in the console"`) {
		t.Fatalf("the dry run does not run the saved script:\n%s", out)
	}
	tb.noProblems()

	tb.do("save a script that does not compile", chromedp.SetValue(chromedp.ID("pg-script"), "function (reqHeaders) {\n  var x = ;\n}\n"),
		chromedp.Click(chromedp.ID("pg-save")), chromedp.WaitVisible(chromedp.ID("error")))
	// The error names the script's line and column (inline:2:11, the stray ";").
	if e := tb.errorLine(); !strings.Contains(e, "400") || !strings.Contains(e, "script inline:2:11") {
		t.Fatalf("the compile error is not shown at its line: %q", e)
	}
	if v := g.api(t, gatewayToken, "GET", "/v1/config", "")["number"]; v != 2.0 {
		t.Fatalf("running version %v after a refused save, want 2", v)
	}
}
