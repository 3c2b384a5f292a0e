package console

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// choose picks the playground's provider by its index in the config.
func (tb *tab) choose(index string) {
	tb.t.Helper()
	tb.do("choose provider "+index, chromedp.SetValue(chromedp.ID("pg-provider"), index),
		chromedp.Evaluate[chromedp.Void](`document.getElementById('pg-provider').dispatchEvent(new Event('change'))`))
}

// setScript replaces the editor's text as typing would (an input event follows).
func (tb *tab) setScript(text string) {
	tb.t.Helper()
	tb.do("edit the script", chromedp.SetValue(chromedp.ID("pg-script"), text),
		chromedp.Evaluate[chromedp.Void](`document.getElementById('pg-script').dispatchEvent(new Event('input'))`))
}

// encryptedAnswer is a provider answer whose data field is plain encrypted with the demo
// tenant's AES key and IV, as the article's provider sends it.
func encryptedAnswer(t *testing.T, plain string) string {
	t.Helper()
	block, err := aes.NewCipher([]byte(secretValues["aes_key"]))
	if err != nil {
		t.Fatal(err)
	}
	pad := aes.BlockSize - len(plain)%aes.BlockSize
	buf := append([]byte(plain), bytes.Repeat([]byte{byte(pad)}, pad)...)
	cipher.NewCBCEncrypter(block, []byte(secretValues["aes_iv"])).CryptBlocks(buf, buf)
	body := `{"code":0,"data":"` + base64.StdEncoding.EncodeToString(buf) + `"}`
	return "HTTP/1.1 200 OK\nContent-Type: application/json\n\n" + body
}

// TestPlaygroundSyntaxAsYouType: a developer types a script with an error; the gateway's
// compiler finds it while typing (no save, no button), the page says line and column and
// marks the line; fixing the text clears it. The checks are not audited, and store nothing.
func TestPlaygroundSyntaxAsYouType(t *testing.T) {
	g := startGateway(t)
	browser := newBrowser(t)
	tb := newTab(t, browser, g.url)
	tb.login(acmeDev)
	tb.page("#/playground", "#pg-request")
	tb.choose("1") // acme-script
	tb.do("type a script with an error", chromedp.WaitVisible(chromedp.ID("pg-script")),
		chromedp.Evaluate[chromedp.Void](`document.getElementById('pg-script').value = ''`),
		chromedp.SendKeys(chromedp.ID("pg-script"), "function (reqHeaders) {\n  var x = ;\n}\n"),
		chromedp.WaitVisible(chromedp.CSS("#pg-gutter .bad-line")))
	if got := tb.text("#pg-check"); !strings.HasPrefix(got, "line 2, column 11: ") {
		t.Fatalf("the check says %q, want the error at line 2, column 11", got)
	}
	if got := tb.text("#pg-gutter .bad-line"); got != "2" {
		t.Fatalf("marked line %q, want 2", got)
	}
	tb.shot("playground-syntax-error")
	tb.setScript(articleScript(t))
	tb.do("the fixed script compiles", chromedp.WaitVisible(chromedp.CSS("#pg-check.ok")))
	if ok, _ := chromedp.Run(tb.ctx, chromedp.Evaluate[bool](`document.querySelector('#pg-gutter .bad-line') === null`)); !ok {
		t.Fatal("the line is still marked after the fix")
	}
	if v := g.api(t, gatewayToken, "GET", "/v1/config", "")["number"]; v != 1.0 {
		t.Fatalf("a check changed the running config to version %v", v)
	}
	for _, e := range g.api(t, gatewayToken, "GET", "/v1/audit?kind=admin", "")["events"].([]any) {
		if e.(map[string]any)["action"] == "script.check" {
			t.Fatalf("a successful check was audited: %v", e)
		}
	}
	tb.noProblems()
}

// TestPlaygroundUnsavedScriptAndAnswer: a developer edits the article's script and dry-runs
// it unsaved with a pasted provider answer: the answer, the developer's own choice, is not
// decrypted under the secret IV (a chosen-ciphertext oracle on it) and the page says why; a
// tenant admin's run of the same shows the request with the edit, the answer decrypted by the
// provider's response processing and the stage timings, keys stay [redacted], and nothing is
// stored.
func TestPlaygroundUnsavedScriptAndAnswer(t *testing.T) {
	g := startGateway(t)
	browser := newBrowser(t)
	tb := newTab(t, browser, g.url)
	tb.login(acmeDev)
	tb.page("#/playground", "#pg-request")
	tb.choose("1") // acme-script
	edited := strings.Replace(articleScript(t), "reqBody.set('sign', sign);", "reqBody.set('sign', sign);\n  reqBody.set('edited', 'unsaved');", 1)
	tb.setScript(edited)
	tb.do("a developer pastes an answer and dry-runs", chromedp.WaitVisible(chromedp.CSS("#pg-check.ok")),
		chromedp.SetValue(chromedp.ID("pg-answer"), encryptedAnswer(t, "order 42 paid")),
		chromedp.Click(chromedp.ID("pg-run")), chromedp.WaitVisible(chromedp.ID("error")))
	if got := tb.errorLine(); !strings.Contains(got, "400") || !strings.Contains(got, "the caller chose the response") {
		t.Fatalf("the developer's pasted answer: page says %q, want the 400 refusal", got)
	}
	tb.noLeak("playground refusing a developer's pasted answer")

	tb = newTab(t, browser, g.url)
	tb.login(acmeAdmin)
	tb.page("#/playground", "#pg-request")
	tb.choose("1") // acme-script
	tb.setScript(edited)
	tb.do("a tenant admin pastes the answer and dry-runs", chromedp.WaitVisible(chromedp.CSS("#pg-check.ok")),
		chromedp.SetValue(chromedp.ID("pg-answer"), encryptedAnswer(t, "order 42 paid")),
		chromedp.Click(chromedp.ID("pg-run")), chromedp.WaitVisible(chromedp.CSS("#pg-output.done")))
	if out := tb.text("#pg-output"); !strings.Contains(out, `"edited":"unsaved"`) || !strings.Contains(out, "Authorization: "+placeholderToken) {
		t.Fatalf("the request that would leave does not run the unsaved script:\n%s", out)
	}
	if got := tb.text("#pg-response-out"); !strings.Contains(got, `"data":"order 42 paid"`) {
		t.Fatalf("the answer is not shown decrypted:\n%s", got)
	}
	if !strings.Contains(tb.text("#pg-notes"), "unsaved") {
		t.Fatalf("the page does not say the script ran unsaved: %q", tb.text("#pg-notes"))
	}
	timings := tb.text("#pg-timings-table")
	for _, stage := range []string{"parse", "script", "redact", "total"} {
		if !strings.Contains(timings, stage) {
			t.Errorf("stage timings lack %s:\n%s", stage, timings)
		}
	}
	tb.shot("playground")
	tb.noLeak("playground with an unsaved script and an answer")
	if v := g.api(t, gatewayToken, "GET", "/v1/config", "")["number"]; v != 1.0 {
		t.Fatalf("an unsaved dry run changed the running config to version %v", v)
	}
	if strings.Contains(g.api(t, gatewayToken, "GET", "/v1/config", "")["yaml"].(string), "unsaved") {
		t.Fatal("the unsaved script was stored")
	}
	tb.noProblems()
}
