package script

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/internal/failure"
)

// articleScript is the article's two functions verbatim, with its typo `×tamp` read as
// `&timestamp`.
const articleScript = `function (reqHeaders, reqParams, reqBody, AppKey, AesKey, AesIV, PrefixUrl, TokenUrl) {
  var ts = reqBody.get('timestamp');
  var token = token_load();
  if (!token) {
    var reqData = {
      "appKey": AppKey,
      "data": base64_encode(aes_cbc_pkcs5_encrypt(AesKey, '{"appKey": "'+AppKey+'"}', AesIV)),
      "timestamp": ts
    };
    reqData["sign"] = sha256('appKey='+AppKey+'&data='+reqData["data"]+'&timestamp='+ts).toUpperCase();
    var respObj = JSON.parse(http_post_json(TokenUrl, reqData, {}));
    if (respObj["data"]["accessToken"]) {
      token = "Bearer "+respObj["data"]["accessToken"];
      token_save(token, respObj["data"]["expireTime"]);
    }
  }
  reqHeaders.set("Authorization", token);
  reqHeaders.setURI(PrefixUrl + reqHeaders.getURI());
  var originData = reqBody.get('data');
  var enData = base64_encode(aes_cbc_pkcs5_encrypt(AesKey, originData, AesIV));
  reqBody.set("appKey", AppKey);
  reqBody.set('data', enData);
  var sign = sha256(reqBody.buildSignStr()).toUpperCase();
  reqBody.set('sign', sign);
}

function (respBody, AppKey, AesKey, AesIV, PrefixUrl, TokenUrl) {
  if (401 == respBody["code"]) {
    token_delete();
  }
  if (respBody["data"]) {
    respBody["data"] = aes_cbc_pkcs5_decrypt(AesKey, base64_decode(respBody["data"]), AesIV);
  }
}
`

func upperSHA256(s string) string {
	sum := sha256.Sum256([]byte(s))
	return strings.ToUpper(hex.EncodeToString(sum[:]))
}

// tokenEndpoint implements the article's first step with independent code: it checks the sign,
// decrypts data and checks the appKey inside, and answers with a token.
func tokenEndpoint(_ testing.TB, calls *atomic.Int32) *httptest.Server {
	key, iv := []byte(testSecrets["aes_key"]), []byte(testSecrets["aes_iv"])
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		raw, _ := io.ReadAll(r.Body)
		var req struct {
			AppKey    string      `json:"appKey"`
			Data      string      `json:"data"`
			Timestamp json.Number `json:"timestamp"`
			Sign      string      `json:"sign"`
		}
		if err := json.Unmarshal(raw, &req); err != nil || r.Header.Get("Content-Type") != "application/json" {
			http.Error(w, "bad request", 400)
			return
		}
		want := upperSHA256("appKey=" + req.AppKey + "&data=" + req.Data + "&timestamp=" + req.Timestamp.String())
		ct, _ := base64.StdEncoding.DecodeString(req.Data)
		if req.Sign != want || req.AppKey != "demo-app" || string(cbcDecrypt(key, iv, ct)) != `{"appKey": "demo-app"}` {
			w.WriteHeader(403)
			_, _ = w.Write([]byte(`{"code":403}`))
			return
		}
		_, _ = w.Write([]byte(`{"code":0,"data":{"accessToken":"tok-123","expireTime":7200}}`))
	}))
}

func TestArticleScriptsTwoStep(t *testing.T) {
	var calls atomic.Int32
	srv := tokenEndpoint(t, &calls)
	defer srv.Close()
	step := compileInline(t, articleScript, Options{TokenURL: srv.URL + "/token"})
	tokens := &fakeTokens{}
	key, iv := []byte(testSecrets["aes_key"]), []byte(testSecrets["aes_iv"])

	for i := range 2 {
		x := newExchange("/pay?x=1", `{"timestamp":1700000000,"data":"hello"}`, tokens)
		if err := step.SignRequest(context.Background(), x); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		if got := x.Request.Header.Get("Authorization"); got != "Bearer tok-123" {
			t.Fatalf("request %d: Authorization = %q", i, got)
		}
		if x.Request.Path != "/v1/pay?x=1" {
			t.Fatalf("request %d: path = %q", i, x.Request.Path)
		}
		enc := base64.StdEncoding.EncodeToString(cbcEncrypt(key, iv, []byte("hello")))
		sign := upperSHA256("appKey=demo-app&data=" + enc + "&timestamp=1700000000" + testSecrets["app_secret"])
		want := `{"timestamp":1700000000,"data":"` + enc + `","appKey":"demo-app","sign":"` + sign + `"}`
		if got := string(x.Request.Body()); got != want {
			t.Fatalf("request %d body:\n got %s\nwant %s", i, got, want)
		}
	}
	if calls.Load() != 1 || tokens.saves != 1 {
		t.Fatalf("token endpoint called %d times, saved %d times; want 1 and 1 (cached)", calls.Load(), tokens.saves)
	}
	if d := tokens.expiry.Sub(pinned); d.Seconds() != 7200 {
		t.Fatalf("token expiry = %v after the pinned clock, want 2h", d)
	}

	t.Run("response decrypts data", func(t *testing.T) {
		x := newExchange("/pay", `{}`, tokens)
		ct := base64.StdEncoding.EncodeToString(cbcEncrypt(key, iv, []byte(`{"orderId":"42"}`)))
		x.Response = &signerResponse{Status: 200, Body: []byte(`{"code":0,"msg":"ok","data":"` + ct + `"}`)}
		if err := step.ProcessResponse(context.Background(), x); err != nil {
			t.Fatal(err)
		}
		if got, want := string(x.Response.Body), `{"code":0,"msg":"ok","data":"{\"orderId\":\"42\"}"}`; got != want {
			t.Fatalf("response body\n got %s\nwant %s", got, want)
		}
	})
	t.Run("unchanged response keeps its bytes", func(t *testing.T) {
		x := newExchange("/pay", `{}`, tokens)
		body := `{ "code": 0, "big": 12345678901234567890 }`
		x.Response = &signerResponse{Status: 200, Body: []byte(body)}
		if err := step.ProcessResponse(context.Background(), x); err != nil || string(x.Response.Body) != body {
			t.Fatalf("body %s, err %v", x.Response.Body, err)
		}
	})
	t.Run("401 deletes the token", func(t *testing.T) {
		x := newExchange("/pay", `{}`, tokens)
		x.Response = &signerResponse{Status: 200, Body: []byte(`{"code":401}`)}
		if err := step.ProcessResponse(context.Background(), x); err != nil {
			t.Fatal(err)
		}
		if _, ok := tokens.Load(context.Background()); ok {
			t.Fatal("token still cached after code 401")
		}
	})
	t.Run("token endpoint rejects", func(t *testing.T) {
		bad := compileInline(t, articleScript, Options{TokenURL: srv.URL + "/token"})
		x := newExchange("/pay", `{"timestamp":1,"data":"x"}`, &fakeTokens{})
		x.Keys = &wrongKeys{}
		err := bad.SignRequest(context.Background(), x)
		if failure.KindOf(err) != failure.BadGateway || failure.StageOf(err) != "token" {
			t.Fatalf("err = %v, want bad_gateway at token", err)
		}
	})
}

// wrongKeys serves a wrong AES key, so the token endpoint refuses the request.
type wrongKeys struct{ fakeKeys }

func (k *wrongKeys) Secret(ctx context.Context, x *signerExchange, name string) (secretValue, error) {
	if name == "aes_key" {
		return secretFromString("ffffffffffffffffffffffffffffffff"), nil
	}
	return k.fakeKeys.Secret(ctx, x, name)
}

func TestExampleIsTheArticle(t *testing.T) {
	b, err := os.ReadFile("../../examples/scripts/article-two-step.js")
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != articleScript {
		t.Fatal("examples/scripts/article-two-step.js differs from the article's functions")
	}
	if _, err := Compile(config.Script{File: "article-two-step.js"}, testBuild(t), Options{BaseDir: "../../examples/scripts"}); err != nil {
		t.Fatal(err)
	}
}
