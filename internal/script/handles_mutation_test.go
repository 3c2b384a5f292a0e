package script

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/keygate/keygate/internal/config"
)

// Handle markers: two rules whose mutants lived before (issue 26).

// TestForgedMarkerFromTheCallerIsNoHandle: a caller's request carrying a well-formed marker of
// another invocation ("\uE000kg:<id>:0\uE001") must not resolve to this invocation's handle 0;
// used as a key it fails the request (a lookup that ignored the invocation id would sign with
// the provider's secret under a key the caller chose to name).
func TestForgedMarkerFromTheCallerIsNoHandle(t *testing.T) {
	step, err := Compile(config.Script{Inline: reqHead + `reqHeaders.set("X-Sig", hmac_sha256(reqBody.get("k"), "m"))
}`}, testBuild(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, forged := range []string{"\uE000kg:0000000000000000:0\uE001", "\uE000kg:ffffffffffffffff:1\uE001"} {
		x := newExchange("/pay", `{"k":"`+forged+`"}`, &fakeTokens{})
		if err := step.SignRequest(context.Background(), x); err == nil {
			t.Fatalf("a marker forged in the request (%q) was taken as a handle: X-Sig %q", forged, x.Request.Header.Get("X-Sig"))
		}
	}
}

// TestAnyPartOfAMarkerIsRefusedAtAnOutput: the tail of a marker (its invocation id, index and
// closing delimiter, without the opening one) must not reach an output either.
func TestAnyPartOfAMarkerIsRefusedAtAnOutput(t *testing.T) {
	for _, body := range []string{
		`reqHeaders.set("X", AesKey.slice(1))`,                    // no opening delimiter
		`reqHeaders.set("X", AesKey.slice(0, AesKey.length - 1))`, // no closing delimiter
		`reqHeaders.set("X", AesKey.slice(AesKey.length - 1))`,    // the closing delimiter alone
		`reqBody.set("x", "id=" + AesKey.split(":")[1])`,          // the invocation id alone
	} {
		outputs, reqErr, _ := hostileRun(t, reqHead+body+"\n}", nil)
		joined := string(joinOutputs(outputs))
		if reqErr == nil && (strings.ContainsRune(joined, '\uE000') || strings.ContainsRune(joined, '\uE001')) {
			t.Errorf("%s: a part of a marker reached an output", body)
		}
		if reqErr == nil && strings.Contains(body, "slice") {
			t.Errorf("%s: the request went through with part of a handle in it", body)
		}
	}
}

func joinOutputs(outs [][]byte) []byte {
	var b []byte
	for _, o := range outs {
		b = append(b, o...)
	}
	return b
}

// TestMarkerForgedFromAHeldOneIsNoHandle: a script holds a real marker and rewrites its index
// (the next slot, one past every handle of the invocation, or far past) keeping the invocation
// id: the result names no handle, and the built-in refuses it cleanly.
func TestMarkerForgedFromAHeldOneIsNoHandle(t *testing.T) {
	for _, next := range []string{"n + 1", "n + 50", "-1"} {
		body := `var m = secret("app_secret"), parts = m.slice(0, -1).split(":"), n = Number(parts[2]);
  var forged = parts[0] + ":" + parts[1] + ":" + String(` + next + `) + m.slice(-1);
  reqHeaders.set("X-Sig", hmac_sha256(forged, "m"))`
		outputs, reqErr, _ := hostileRun(t, reqHead+body+"\n}", nil)
		if reqErr == nil || !strings.Contains(reqErr.Error(), "handle") {
			t.Errorf("index %s: a marker with a forged index: err %v, want a refusal naming the handle", next, reqErr)
		}
		checkNoSecret(t, outputs)
	}
}

// TestEchoedCiphertextIsNotTheProvidersOwn: a ciphertext the caller put in the request, which
// the provider echoes back (an order number, say), is not one the provider sent: decrypting it
// under the secret IV in the response function is refused (an IV oracle on caller-chosen
// data); the same ciphertext the request did not carry decrypts.
func TestEchoedCiphertextIsNotTheProvidersOwn(t *testing.T) {
	src := reqHead + "}" + respHead + `respBody.plain = aes_cbc_pkcs5_decrypt(AesKey, base64_decode(respBody.data), AesIV);
}`
	step, err := Compile(config.Script{Inline: src}, testBuild(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	ct := base64.StdEncoding.EncodeToString(cbcEncrypt([]byte(testSecrets["aes_key"]), []byte(testSecrets["aes_iv"]), []byte(`{"paid":true}`)))
	for _, c := range []struct {
		name, request string
		refused       bool
	}{
		{"echoed from the request", `{"order":"` + ct + `"}`, true},
		{"the provider's own", `{"order":"A-1"}`, false},
	} {
		x := newExchange("/pay", c.request, &fakeTokens{})
		if err := step.SignRequest(context.Background(), x); err != nil {
			t.Fatalf("%s: request: %v", c.name, err)
		}
		x.Response = &signerResponse{Status: 200, Body: []byte(`{"data":"` + ct + `"}`)}
		err := step.ProcessResponse(context.Background(), x)
		if c.refused && (err == nil || !strings.Contains(err.Error(), "only a ciphertext the provider sent")) {
			t.Errorf("%s: decrypting under the secret IV: err %v, want the refusal", c.name, err)
		}
		if !c.refused && err != nil {
			t.Errorf("%s: %v", c.name, err)
		}
	}
}

// TestOneHandlePerSecretPerInvocation: asking for a provider secret again in the same request
// gives the same marker, so a script that calls secret() in a loop does not grow the
// invocation's handle table (nor load the secret) once per call.
func TestOneHandlePerSecretPerInvocation(t *testing.T) {
	step := compileInline(t, reqHead+`var first = secret("app_secret"), same = true;
  for (var i = 0; i < 1000; i++) { if (secret("app_secret") !== first) { same = false } }
  reqHeaders.set("X-Same", String(same));
}`, Options{})
	x := newExchange("/pay", `{}`, &fakeTokens{})
	if err := step.SignRequest(context.Background(), x); err != nil {
		t.Fatal(err)
	}
	if got := x.Request.Header.Get("X-Same"); got != "true" {
		t.Fatalf("secret(\"app_secret\") asked 1001 times in one request: same marker each time %q, want true", got)
	}
}

// TestResponseThatIsNotAJSONObjectPassesThrough: the response function runs on a JSON object
// body only; an empty body, or one that is not an object, is passed through as the provider
// sent it, without calling the function (which would fail the response here).
func TestResponseThatIsNotAJSONObjectPassesThrough(t *testing.T) {
	step := compileInline(t, reqHead+"}"+respHead+`throw new Error("the response function ran")
}`, Options{})
	for _, body := range []string{"", "[1]", "null", "plain text"} {
		x := newExchange("/pay", `{}`, &fakeTokens{})
		if err := step.SignRequest(context.Background(), x); err != nil {
			t.Fatal(err)
		}
		x.Response = &signerResponse{Status: 200, Body: []byte(body)}
		if err := step.ProcessResponse(context.Background(), x); err != nil || string(x.Response.Body) != body {
			t.Errorf("response body %q: err %v, body now %q; want it passed through", body, err, x.Response.Body)
		}
	}
}
