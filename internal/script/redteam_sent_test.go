package script

import (
	"context"
	"encoding/base64"
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/dop251/goja"

	"github.com/keygate/keygate/internal/config"
)

// TestRedTeamRequestChangedInTheResponseFunction: the echo check reads the request in the
// response function. A script that kept the request objects from its request function (in a
// closure its top level made) removed, in the response function, the body field, query
// parameter or header through which the caller sent a ciphertext the provider echoed, and then
// decrypted that caller-chosen ciphertext under the secret IV: the IV oracle. Two locks now: a
// top level that could keep them is refused (inert.go), and the request objects refuse every
// change once the request has been sent, whoever calls them.
func TestRedTeamRequestChangedInTheResponseFunction(t *testing.T) {
	keeper := `var keep = (function () { var o = null; return function (x) { if (x) { o = x } return o } })();
` + reqHead + `keep([reqHeaders, reqParams, reqBody]);
}` + respHead + `var r = keep(); r[2].remove("order");
  respBody.plain = aes_cbc_pkcs5_decrypt(AesKey, base64_decode(respBody.data), AesIV);
}`
	var se *SyntaxError
	if _, err := Compile(config.Script{Inline: keeper}, testBuild(t), Options{}); !errors.As(err, &se) {
		t.Errorf("a script that keeps the request objects compiled (err %v)", err)
	}

	// The objects themselves, called in the response function.
	ct := base64.StdEncoding.EncodeToString(cbcEncrypt([]byte(testSecrets["aes_key"]), []byte(testSecrets["aes_iv"]), []byte("chosen-by-caller")))
	step := compileInline(t, reqHead+"}"+respHead+"}", Options{})
	v, err := step.get()
	if err != nil {
		t.Fatal(err)
	}
	x := newExchange("/pay?order="+url.QueryEscape(ct), `{"order":"`+ct+`"}`, &fakeTokens{})
	x.Request.Header.Set("X-Order", ct)
	v.st.begin(context.Background(), x)
	defer v.st.end()
	v.st.inResponse = true
	for _, c := range []struct {
		obj    *goja.Object
		method string
		args   []any
	}{
		{v.objs.body, "remove", []any{"order"}}, {v.objs.body, "set", []any{"order", "A-1"}},
		{v.objs.params, "remove", []any{"order"}}, {v.objs.params, "set", []any{"order", "A-1"}},
		{v.objs.headers, "remove", []any{"X-Order"}}, {v.objs.headers, "set", []any{"X-Order", "A-1"}},
		{v.objs.headers, "setURI", []any{"/pay"}},
	} {
		fn, _ := goja.AssertFunction(c.obj.Get(c.method))
		args := make([]goja.Value, len(c.args))
		for i, a := range c.args {
			args[i] = v.rt.ToValue(a)
		}
		if _, err := fn(c.obj, args...); err == nil || !strings.Contains(err.Error(), "has been sent") {
			t.Errorf("%s in the response function: err %v, want the refusal", c.method, err)
		}
	}
	if !strings.Contains(x.Request.Path, url.QueryEscape(ct)) || !strings.Contains(string(x.Request.Body()), ct) || x.Request.Header.Get("X-Order") != ct {
		t.Error("the sent request changed in the response function")
	}
}
