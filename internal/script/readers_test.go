package script

import (
	"context"
	"crypto/hmac"
	"crypto/md5"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/signer"
)

// TestRequestReaders: each reader of issue 17 returns the request as it will leave, read from
// the one signer.Request the pipeline sends.
func TestRequestReaders(t *testing.T) {
	step := compileInline(t, `function sign(reqHeaders, reqParams, reqBody, AppKey, AesKey, AesIV, PrefixUrl) {
  reqHeaders.setURI(PrefixUrl + reqHeaders.getURI());
  reqBody.set("added", 1); // raw() reads the body after the script's own change
  var out = {
    method: reqHeaders.getMethod(), scheme: reqHeaders.getScheme(), host: reqHeaders.getHost(),
    hostHeader: reqHeaders.get("host"), url: reqHeaders.getURL(), uri: reqHeaders.getURI(),
    rawQuery: reqParams.raw(), names: reqParams.names(), all: reqParams.getAll("a"),
    entries: reqParams.entries(), first: reqParams.get("a"), space: reqParams.get("s"),
    raw: reqBody.raw(), rawHex: hex_encode(reqBody.rawBytes()), keys: reqBody.keys(),
    bodyHash: sha256(reqBody.raw()), bytesHash: sha256(reqBody.rawBytes()),
    region: vars.region, appKey: vars.app_key, missing: typeof vars.nope, proto: typeof vars.toString,
    dec: url_decode("a%20b+c%2F"), fdec: form_decode("a%20b+c%2F"),
    hmacMD5: hmac_md5("key", "The quick brown fox jumps over the lazy dog")
  };
  reqHeaders.set("X-Out", JSON.stringify(out));
}`, Options{})
	x := newExchange("/q?a=1&s=x+y&b=%2F&a=2", `{"z":"\u672a","n":1}`, nil)
	x.Request.Method = "PUT"
	if err := step.SignRequest(context.Background(), x); err != nil {
		t.Fatal(err)
	}
	body := `{"z":"\u672a","n":1,"added":1}`
	want := map[string]string{
		`"method":"PUT"`:                 "method",
		`"scheme":"https"`:               "scheme",
		`"host":"pay.example.com"`:       "host",
		`"hostHeader":"pay.example.com"`: "get('host')",
		`"url":"https://pay.example.com/v1/q?a=1&s=x+y&b=%2F&a=2"`: "url",
		`"rawQuery":"a=1&s=x+y&b=%2F&a=2"`:                         "raw query",
		`"names":["a","s","b"]`:                                    "names",
		`"all":["1","2"]`:                                          "getAll",
		`"entries":[["a","1"],["s","x y"],["b","/"],["a","2"]]`:    "entries",
		`"first":"1"`:   "get",
		`"space":"x y"`: "get decodes +",
		`"rawHex":"` + hex.EncodeToString([]byte(body)) + `"`: "rawBytes",
		`"keys":["z","n","added"]`:                            "keys",
		`"bodyHash":"` + hexSHA256(body) + `"`:                "sha256(raw())",
		`"bytesHash":"` + hexSHA256(body) + `"`:               "sha256(rawBytes())",
		`"appKey":"demo-app"`:                                 "vars.app_key",
		`"missing":"undefined"`:                               "an absent var",
		`"proto":"undefined"`:                                 "vars has no prototype",
		`"dec":"a b+c/"`:                                      "url_decode keeps +",
		`"fdec":"a b c/"`:                                     "form_decode",
		`"hmacMD5":"80070713463e7749b90c2dc24911e275"`:        "hmac_md5 (RFC 2104 example)",
	}
	got := x.Request.Header.Get("X-Out")
	for w, what := range want {
		if !strings.Contains(got, w) {
			t.Errorf("%s: want %s in\n%s", what, w, got)
		}
	}
	if !strings.Contains(got, `"raw":"{\"z\":\"\\u672a\",\"n\":1,\"added\":1}"`) {
		t.Errorf("raw(): want the body's bytes as sent, got\n%s", got)
	}
}

func TestVarsByName(t *testing.T) {
	b := testBuild(t)
	b.Vars = map[string]string{"app_key": "id", "region": "ap-guangzhou", "__proto__": "p", "constructor": "c"}
	step, err := Compile(config.Script{Inline: reqHead + `reqHeaders.set("X", [vars.region, vars.__proto__, vars.constructor, Object.isFrozen(vars)].join(","));
  try { vars.region = "x" } catch (e) {}
  reqHeaders.set("Y", vars.region);
}`}, b, Options{})
	if err != nil {
		t.Fatal(err)
	}
	x := newExchange("/p", "", nil)
	if err := step.SignRequest(context.Background(), x); err != nil {
		t.Fatal(err)
	}
	if got := x.Request.Header.Get("X"); got != "ap-guangzhou,p,c,true" || x.Request.Header.Get("Y") != "ap-guangzhou" {
		t.Fatalf("vars: %q, after a write %q", got, x.Request.Header.Get("Y"))
	}
}

// TestNonceSourcesArePinned: nonce(), uuid() and Math.random() all follow the exchange's clock,
// so `keygate sign --nonce` gives the same output on every run; a UUID-shaped pinned nonce is
// uuid() as it is (a provider's example names its nonce).
func TestNonceSourcesArePinned(t *testing.T) {
	step := compileInline(t, reqHead+`reqHeaders.set("X", [nonce(), uuid(), Math.random(), Math.random()].join(" "));
}`, Options{})
	run := func(clock signer.Clock) []string {
		x := newExchange("/p", "", nil)
		x.Clock = clock
		if err := step.SignRequest(context.Background(), x); err != nil {
			t.Fatal(err)
		}
		return strings.Split(x.Request.Header.Get("X"), " ")
	}
	a, b := run(signer.FixedClock(pinned, "n0nce")), run(signer.FixedClock(pinned, "n0nce"))
	if strings.Join(a, " ") != strings.Join(b, " ") || a[0] != "n0nce" || !isUUID(a[1]) || a[2] == a[3] {
		t.Fatalf("pinned runs: %v and %v", a, b)
	}
	u := run(signer.FixedClock(pinned, "45e25e9b-0a6f-4070-8c85-2956eda1b466"))
	if u[1] != "45e25e9b-0a6f-4070-8c85-2956eda1b466" {
		t.Fatalf("uuid() = %s, want the pinned UUID", u[1])
	}
	r1, r2 := run(signer.SystemClock()), run(signer.SystemClock())
	if r1[1] == r2[1] || r1[2] == r2[2] || r1[1][14] != '4' {
		t.Fatalf("unpinned runs repeat or are not v4: %v %v", r1, r2)
	}
}

// TestHMACMD5WithSecret: hmac_md5 takes a secret key like the other HMACs (computed locally:
// Transit has no MD5).
func TestHMACMD5WithSecret(t *testing.T) {
	m := hmac.New(md5.New, []byte(testSecrets["other"]))
	m.Write([]byte("m"))
	if got := eval(t, `hmac_md5(secret("other"), "m")`, nil); got != hex.EncodeToString(m.Sum(nil)) {
		t.Fatalf("hmac_md5 = %s", got)
	}
}

// TestHeaderNameKeepsTheScriptsSpelling: a header set as "X-TC-Action" is printed so by the dry
// run's writer, and still found by any case of its name.
func TestHeaderNameKeepsTheScriptsSpelling(t *testing.T) {
	step := compileInline(t, reqHead+`reqHeaders.set("X-TC-Action", "A"); reqHeaders.set("x-lower", reqHeaders.get("x-tc-action"));
}`, Options{})
	x := newExchange("/p", "", nil)
	if err := step.SignRequest(context.Background(), x); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	if err := x.Request.WriteHTTP1(&out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "\r\nX-TC-Action: A\r\n") || !strings.Contains(out.String(), "\r\nx-lower: A\r\n") {
		t.Fatalf("written as\n%s", out.String())
	}
}
