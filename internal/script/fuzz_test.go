package script

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/keygate/keygate/internal/failure"
	"github.com/keygate/keygate/signer"
)

// FuzzArticleScript runs the design article's script over fuzzed request bodies and headers,
// with a token already cached (no network): it must never panic, and every failure must be a
// *failure.Error naming its stage (script, or the built-in that failed, e.g. decrypt): fail
// closed, with a status.
func FuzzArticleScript(f *testing.F) {
	for _, seed := range []struct{ body, hname, hval string }{
		{`{"data":"{\"amount\":7}","timestamp":"1700000000"}`, "X-Trace", "t1"},
		{`{"data":"x"}`, "Content-Type", "application/json"},
		{`{"timestamp":1700000000,"data":{"nested":true}}`, "Authorization", "Bearer old"},
		{`not json`, "X-A", ""},
		{`{"data":null,"timestamp":null}`, "x-\x00", "\r\n"},
		{`[]`, "", ""},
	} {
		f.Add(seed.body, seed.hname, seed.hval)
	}
	step := compileInline(f, articleScript, Options{TokenURL: "http://127.0.0.1:9/token"})
	f.Fuzz(func(t *testing.T, body, hname, hval string) {
		tokens := &fakeTokens{}
		_ = tokens.Save(context.Background(), secretFromString("Bearer fuzz-token"), time.Now().Add(time.Hour))
		x := newExchange("/orders", body, tokens)
		if hname != "" {
			x.Request.Header = http.Header{hname: {hval}}
		}
		err := step.SignRequest(context.Background(), x)
		checkFailClosed(t, err)
		if err != nil {
			return
		}
		resp := &signer.Response{Status: 200, Header: http.Header{}, Body: []byte(body)}
		checkFailClosed(t, step.ProcessResponse(context.Background(), &signer.Exchange{
			Tenant: x.Tenant, Provider: x.Provider, Request: x.Request, Response: resp,
			Keys: x.Keys, Tokens: tokens, Clock: x.Clock,
		}))
	})
}

func checkFailClosed(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	var fe *failure.Error
	if !errors.As(err, &fe) {
		t.Fatalf("failure is not a *failure.Error: %v", err)
	}
	if failure.StageOf(err) == "" {
		t.Fatalf("failure names no stage: %v", err)
	}
}
