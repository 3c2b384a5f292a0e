package admin

import (
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keygate/keygate/internal/audit"
)

// TestScriptCheck: the check answers ok, or the problem at its line and column; a success is
// not audited (it runs as the user types), a refusal is.
func TestScriptCheck(t *testing.T) {
	e := newEnv(t)
	status, body := e.do(t, acmeDevTok, "POST", "/v1/tenants/acme/providers/acme-pay/script/check", `{"script": "function (r) {}"}`)
	if status != ok || !strings.Contains(body, `"ok": true`) || strings.Contains(body, "line") {
		t.Fatalf("a script that compiles: %d %s", status, body)
	}
	status, body = e.do(t, acmeDevTok, "POST", "/v1/tenants/acme/providers/acme-pay/script/check", `{"script": "function (r) {\n  syntax ;\n}"}`)
	var got struct {
		OK           bool
		Line, Column int
		Message      string
	}
	if err := json.Unmarshal([]byte(body), &got); err != nil || status != ok {
		t.Fatalf("%d %s (%v)", status, body, err)
	}
	if got.OK || got.Line != 2 || got.Column != 11 || got.Message != "Unexpected token ;" {
		t.Fatalf("problem %+v", got)
	}
	if n := len(e.log.Query(auditAll)); n != 0 {
		t.Fatalf("%d audit events for two checks, want none", n)
	}
	if status, _ := e.do(t, acmeDevTok, "POST", "/v1/tenants/globex/providers/globex-pay/script/check", `{"script": "x"}`); status != deny {
		t.Fatalf("a developer of acme checked globex's script: %d", status)
	}
	if ev := e.log.Query(auditAll); len(ev) != 1 || ev[0].(audit.Admin).Outcome != audit.OutcomeDenied {
		t.Fatalf("the refused check was not audited: %+v", ev)
	}
	if status, _ := e.do(t, acmeDevTok, "POST", "/v1/tenants/acme/providers/acme-pay/script/check", `{"script": "x", "reveal": true}`); status != http.StatusBadRequest {
		t.Fatalf("an unknown field was accepted: %d", status)
	}
}

// TestScriptCheckNeverReachesAnotherTenant: a tenant role that names its own tenant in the
// path and another tenant's provider is refused before the compiler sees the script.
func TestScriptCheckNeverReachesAnotherTenant(t *testing.T) {
	e := newEnv(t)
	for _, path := range []string{
		"/v1/tenants/acme/providers/globex-pay/script/check",
		"/v1/tenants/globex/providers/globex-pay/script/check",
		"/v1/providers/globex-pay/script/check",
		"/v1/tenants/acme/providers/..%2Fglobex-pay/script/check",
	} {
		if status, body := e.do(t, acmeDevTok, "POST", path, `{"script": "function (r) {}"}`); status == ok {
			t.Errorf("%s answered 200: %s", path, body)
		}
	}
	if len(e.scripts.called) != 0 {
		t.Fatalf("the checker compiled scripts for %v", e.scripts.called)
	}
}

// TestDryRunOfUnsavedScript: the JSON body's script and answer reach the dry run; the reply
// carries the processed answer and the stage timings; nobody may reveal or fetch a token
// with an unsaved script (a gateway admin neither); the audit event names the script by hash.
func TestDryRunOfUnsavedScript(t *testing.T) {
	e := newEnv(t)
	body := `{"request": "GET / HTTP/1.1\r\nHost: x\r\n\r\n", "script": "function (r) { /* mine */ }", "response": "HTTP/1.1 200 OK\r\n\r\n{\"data\":\"x\"}"}`
	status, reply := e.do(t, acmeDevTok, "POST", "/v1/tenants/acme/providers/acme-pay/sign", body)
	if status != ok {
		t.Fatalf("%d %s", status, reply)
	}
	var got explainedRun
	if err := json.Unmarshal([]byte(reply), &got); err != nil {
		t.Fatal(err)
	}
	if !got.Unsaved || got.Revealed || !strings.Contains(strings.Join(got.Notes, ""), "/* mine */") ||
		!strings.HasPrefix(got.Response, "processed HTTP/1.1 200 OK") || len(got.Timings) != 1 || got.Timings[0].Micros != 12 {
		t.Fatalf("reply %+v", got)
	}
	ev := e.log.Query(auditAll)
	if len(ev) != 1 || !strings.Contains(ev[0].(audit.Admin).Target, "unsaved script sha256:") || strings.Contains(ev[0].(audit.Admin).Target, "mine") {
		t.Fatalf("audit %+v", ev)
	}
	for _, q := range []string{"?reveal=true", "?fetch_token=true", "?explain=true&reveal=true"} {
		if status, reply := e.do(t, rootToken, "POST", "/v1/tenants/acme/providers/acme-pay/sign"+q, body); status != deny {
			t.Errorf("a gateway admin's unsaved script with %s answered %d: %s", q, status, reply)
		}
	}
	// A JSON body without a request, or with fields it does not know, is refused.
	for _, b := range []string{`{"script": "x"}`, `{"request": "GET / HTTP/1.1\r\n\r\n", "reveal": true}`} {
		if status, _ := e.do(t, acmeDevTok, "POST", "/v1/tenants/acme/providers/acme-pay/sign", b); status != http.StatusBadRequest {
			t.Errorf("body %s answered %d", b, status)
		}
	}
}

// TestProviderMetricsScope: a tenant role sees its own tenant's providers only (never a
// provider without a tenant); a gateway admin sees them all.
func TestProviderMetricsScope(t *testing.T) {
	e := newEnv(t)
	names := func(tok string) string {
		status, body := e.do(t, tok, "GET", "/v1/metrics/providers", "")
		if status != ok {
			t.Fatalf("%d %s", status, body)
		}
		var got struct {
			Providers []ProviderMetrics
			Names     bool
		}
		if err := json.Unmarshal([]byte(body), &got); err != nil || !got.Names {
			t.Fatalf("%s (%v)", body, err)
		}
		var out []string
		for _, p := range got.Providers {
			out = append(out, p.Provider)
		}
		return strings.Join(out, ",")
	}
	for tok, want := range map[string]string{rootToken: "acme-pay,globex-pay,orphan", acmeDevTok: "acme-pay", acmeAdminTok: "acme-pay", globexAdmTok: "globex-pay"} {
		if got := names(tok); got != want {
			t.Errorf("%s sees %q, want %q", tok[:10], got, want)
		}
	}
	if n := len(e.log.Query(auditAll)); n != 0 {
		t.Fatalf("%d audit events for metrics polls, want none", n)
	}
}

// TestUnsavedScriptCompilesAreBounded: every script check and unsaved-script dry run compiles
// a script of up to the script size limit (a worst case takes a second and tens of MB of
// stack), so a tenant developer's flood of them must not run at once: past scriptSlots busy
// compiles, a caller waits scriptWait and gets 429, and the slots free when the compiles end.
func TestUnsavedScriptCompilesAreBounded(t *testing.T) {
	e := newEnv(t)
	e.scripts.entered, e.scripts.block = make(chan struct{}, scriptSlots+2), make(chan struct{})
	defer func(w time.Duration) { scriptWait = w }(scriptWait)
	scriptWait = 50 * time.Millisecond
	const check = "/v1/tenants/acme/providers/acme-pay/script/check"
	var wg sync.WaitGroup
	for range scriptSlots {
		wg.Go(func() { e.do(t, acmeDevTok, "POST", check, `{"script": "function (r) {}"}`) })
	}
	for range scriptSlots {
		<-e.scripts.entered
	}
	// Past the busy ones: 429, not one more compile (without a bound it would wait in the
	// checker until the busy ones end, and is given 5 s to show that).
	over := func(path, body string) int {
		got := make(chan int, 1)
		wg.Go(func() { status, _ := e.do(t, acmeDevTok, "POST", path, body); got <- status })
		select {
		case status := <-got:
			return status
		case <-time.After(5 * time.Second):
			return 0
		}
	}
	if status := over(check, `{"script": "function (r) {}"}`); status != http.StatusTooManyRequests {
		t.Errorf("a check past %d busy ones: %d", scriptSlots, status)
	}
	run := `{"request": "GET / HTTP/1.1\r\nHost: x\r\n\r\n", "script": "function (r) {}"}`
	if status := over("/v1/tenants/acme/providers/acme-pay/sign", run); status != http.StatusTooManyRequests {
		t.Errorf("an unsaved-script dry run past %d busy checks: %d", scriptSlots, status)
	}
	close(e.scripts.block)
	wg.Wait()
	e.scripts.block = nil
	if status, body := e.do(t, acmeDevTok, "POST", check, `{"script": "function (r) {}"}`); status != ok {
		t.Fatalf("a check after the busy ones ended: %d %s", status, body)
	}
}
