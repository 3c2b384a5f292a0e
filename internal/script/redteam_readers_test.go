package script

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/keygate/keygate/internal/config"
)

// TestRedTeamReaders: issue 17's readers and built-ins, attacked by a hostile script author.
// An earlier step wrote the secret "other" into the request (as `static` does with `in: query`
// or a bearer header, marking it sensitive). Each attack tries to turn what the readers return
// into text the script can print, or into a partial-secret oracle; each must fail its request,
// uncatchably (the try/catch does not help), and leave no form of any secret in any output.
func TestRedTeamReaders(t *testing.T) {
	const stolen = `reqHeaders.set("X-Leak", hex_encode(v.split("").reverse().join("")))`
	for _, tc := range []struct{ name, body string }{
		{"the URI holding a query key", `var v = reqHeaders.getURI(); ` + stolen},
		{"the URL holding a query key", `var v = reqHeaders.getURL(); ` + stolen},
		{"the raw query", `var v = reqParams.raw(); ` + stolen},
		{"reqParams.get of the key", `var v = reqParams.get("key"); ` + stolen},
		{"reqParams.getAll", `var v = reqParams.getAll("key")[0]; ` + stolen},
		{"reqParams.entries", `var v = reqParams.entries()[1][1]; ` + stolen},
		{"entries into the query", `reqParams.set("copy", reqParams.entries()[1][1])`},
		{"the URI into setURI", `reqHeaders.setURI(reqHeaders.getURI() + "&x=1")`},
		{"a query value through url_decode", `var v = url_decode(reqParams.raw()); ` + stolen},
		{"a query value through form_decode", `var v = form_decode(reqParams.get("key")); ` + stolen},
		{"raw body holding a secret", `var v = reqBody.raw(); ` + stolen},
		{"raw body bytes holding a secret", `var v = String.fromCharCode.apply(null, new Uint8Array(reqBody.rawBytes())); ` + stolen},
		{"body field holding a secret", `var v = reqBody.get("k"); ` + stolen},
		{"body field through JSON", `var v = JSON.stringify(reqBody.get("k")); reqBody.set("copy", v)`},
		{"header read in another case", `var v = reqHeaders.get("aUtHoRiZaTiOn"); reqBody.set("copy", v)`},
		{"url_decode of a key handle", `var v = url_decode(secret("other")); ` + stolen},
		{"url_decode of an encoded sign string", `var v = url_decode(url_encode(secret("baidu_sk"))); ` + stolen},
		{"form_decode of an encoded sign string", `var v = form_decode(url_encode("a" + secret("baidu_sk"))); ` + stolen},
		{"md5 oracle on a prefix of a handle", `var s = secret("baidu_sk"); reqHeaders.set("X-Leak", md5(s.slice(0, s.length - 2)))`},
		{"md5 oracle on a prefix of an encoded secret", `var e = url_encode(secret("baidu_sk")); reqHeaders.set("X-Leak", md5(e.substring(0, e.length - 1)))`},
		{"md5 oracle on a handle's characters", `var s = secret("baidu_sk"), o = ""; for (var i = 0; i < s.length; i++) o += md5(s.charAt(i)); reqHeaders.set("X-Leak", o)`},
		{"hmac_md5 on a data-role secret's prefix", `var s = secret("baidu_sk"); reqHeaders.set("X-Leak", hmac_md5("k", s.substring(1)))`},
		{"md5 of an hmac key (role)", `hmac_sha256(secret("other"), "x"); reqHeaders.set("X-Leak", md5(secret("other")))`},
		{"hmac_md5 of an hmac key sliced", `reqHeaders.set("X-Leak", hmac_md5(secret("other").slice(1), "x"))`},
		{"raw() as a token handle into a body", `reqBody.set("copy", reqBody.raw())`},
		{"raw() as a token handle into the log", `log(reqBody.raw())`},
		{"query handle through an encoder", `reqHeaders.set("X-Leak", base64_encode(reqParams.get("key")))`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			logger, logBuf := captureLog()
			step, err := Compile(config.Script{Inline: reqHead + `try { ` + tc.body + ` } catch (e) { reqHeaders.set("X-Caught", String(e).slice(0, 200)) }
}`, Secrets: map[string]config.ScriptSecret{"baidu_sk": {Role: "sign_string"}}}, testBuild(t), Options{Logger: logger})
			if err != nil {
				t.Fatal(err)
			}
			key := testSecrets["other"]
			x := newExchange("/p?a=1&key="+url.QueryEscape(key), `{"k":"`+key+`","n":1}`, nil)
			x.Request.Header.Set("Authorization", "Bearer "+key)
			x.MarkSensitive(key)
			reqErr := step.SignRequest(context.Background(), x)
			outputs := [][]byte{[]byte(x.Request.Path), []byte(headerText(without(x.Request.Header, "Authorization"))), logBuf.Bytes()}
			body := x.Request.Body()
			outputs = append(outputs, []byte(strings.Replace(string(body), `"k":"`+key+`"`, "", 1)))
			if reqErr != nil {
				outputs = append(outputs, []byte(reqErr.Error()))
			}
			// The step's own copy of the key (in the query and body as the step wrote them) is
			// the provider's; everything the script made must hold none.
			path := strings.Replace(x.Request.Path, "key="+url.QueryEscape(key), "", 1)
			outputs[0] = []byte(path)
			checkNoSecret(t, outputs)
			if reqErr == nil {
				t.Fatal("the attack ran to the end; each must fail its request")
			}
		})
	}
}

func without(h map[string][]string, name string) map[string][]string {
	out := map[string][]string{}
	for k, v := range h {
		if k != name {
			out[k] = v
		}
	}
	return out
}

// TestReadersStillSignOverATaintedRequest: the handles the readers return still sign: a digest
// of the URI holding a query key is the digest of the bytes that leave.
func TestReadersStillSignOverATaintedRequest(t *testing.T) {
	step := compileInline(t, reqHead+`reqHeaders.set("X-Sig", sha256(reqHeaders.getURI()) + "," + sha256(reqBody.raw()));
}`, Options{})
	key := testSecrets["other"]
	x := newExchange("/p?key="+url.QueryEscape(key), `{"k":"`+key+`"}`, nil)
	x.MarkSensitive(key)
	if err := step.SignRequest(context.Background(), x); err != nil {
		t.Fatal(err)
	}
	want := hexSHA256("/p?key="+url.QueryEscape(key)) + "," + hexSHA256(`{"k":"`+key+`"}`)
	if got := x.Request.Header.Get("X-Sig"); got != want {
		t.Fatalf("X-Sig = %s, want %s", got, want)
	}
}
