package script

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/internal/failure"
)

// TestCallerMistakeIs400: a request without the body field the script reads (a GET without a
// body) makes the article's script fail; that is the caller's mistake and answers 400 naming
// the field, as the built-in aes_cbc step does. The same script failing on a complete request
// (its own bug) stays a 500.
func TestCallerMistakeIs400(t *testing.T) {
	src := `function (reqHeaders, reqParams, reqBody, AppKey, AesKey, AesIV) {
  var data = reqBody.get('data');
  reqBody.set('data', data.toUpperCase());
}`
	step, err := Compile(config.Script{Inline: src}, testBuild(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	x := newExchange("/orders", "", nil)
	x.Request.Method = http.MethodGet
	err = step.SignRequest(context.Background(), x)
	if failure.Status(err) != http.StatusBadRequest || !strings.Contains(err.Error(), `"data"`) {
		t.Errorf("GET without a body: %v (status %d), want 400 naming the field", err, failure.Status(err))
	}

	buggy := `function (reqHeaders, reqParams, reqBody) {
  var data = reqBody.get('data');
  reqBody.set('data', data.noSuchMethod());
}`
	step, err = Compile(config.Script{Inline: buggy}, testBuild(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	x = newExchange("/orders", `{"data":"x"}`, nil)
	err = step.SignRequest(context.Background(), x)
	if failure.Status(err) != http.StatusInternalServerError {
		t.Errorf("a script bug on a complete request: %v (status %d), want 500", err, failure.Status(err))
	}
}
