package script

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestRedTeamRequestChangedInTheResponseFunction: the echo check reads the request in the
// response function. A script that kept the request objects from its request function (a
// closure made at the top level survives the freeze) removed, in the response function, the
// body field, query parameter and header through which the caller sent a ciphertext the
// provider echoed, and then decrypted that caller-chosen ciphertext under the secret IV: the IV
// oracle. The request objects now refuse every change once the request has been sent; each
// removal is refused, and the decryption that follows is still refused as echoed.
func TestRedTeamRequestChangedInTheResponseFunction(t *testing.T) {
	ct := base64.StdEncoding.EncodeToString(cbcEncrypt([]byte(testSecrets["aes_key"]), []byte(testSecrets["aes_iv"]), []byte("chosen-by-caller")))
	for _, change := range []string{
		`r[2].remove("order")`, `r[2].set("order", "A-1")`, `r[1].remove("order")`, `r[1].set("order", "A-1")`,
		`r[0].remove("X-Order")`, `r[0].set("X-Order", "A-1")`, `r[0].setURI("/pay")`,
	} {
		src := `var keep = (function () { var o = null; return function (x) { if (x) { o = x } return o } })();
` + reqHead + `keep([reqHeaders, reqParams, reqBody]);
}` + respHead + `var r = keep(), changed = "no";
  try { ` + change + `; changed = "yes" } catch (e) {}
  respBody.changed = changed;
  respBody.plain = aes_cbc_pkcs5_decrypt(AesKey, base64_decode(respBody.data), AesIV);
}`
		step := compileInline(t, src, Options{})
		// The caller sends the ciphertext in the body, the query and a header; where the change
		// does not remove it, the echo check finds it anyway, so each removal is tried alone.
		for _, where := range []string{"body", "query", "header"} {
			path, body := "/pay", `{}`
			x := newExchange(path, body, &fakeTokens{})
			switch where {
			case "body":
				x = newExchange(path, `{"order":"`+ct+`"}`, &fakeTokens{})
			case "query":
				x = newExchange(path+"?order="+url.QueryEscape(ct), body, &fakeTokens{})
			case "header":
				x.Request.Header.Set("X-Order", ct)
			}
			if err := step.SignRequest(context.Background(), x); err != nil {
				t.Fatal(err)
			}
			x.Response = &signerResponse{Status: 200, Header: http.Header{}, Body: []byte(`{"data":"` + ct + `"}`)}
			err := step.ProcessResponse(context.Background(), x)
			if strings.Contains(string(x.Response.Body), "chosen-by-caller") || err == nil || !strings.Contains(err.Error(), "only a ciphertext the provider sent") {
				t.Errorf("%s, ciphertext in the %s: a caller-chosen ciphertext decrypted under the secret IV (err %v)", change, where, err)
			}
			if strings.Contains(string(x.Response.Body), `"changed":"yes"`) {
				t.Errorf("%s: the request changed in the response function", change)
			}
		}
	}
}
