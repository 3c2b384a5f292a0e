package script

import (
	"context"
	"encoding/base64"
	"sync/atomic"
	"testing"
)

// warmKeys are keys as production has them in steady state: every one fresh in the keystore
// cache, read without leaving the runtime (signer.ReadyKeys).
func warmKeys() *readyKeys {
	ready := map[string]bool{}
	for name := range testSecrets {
		ready[name] = true
	}
	return &readyKeys{ready: ready}
}

// BenchmarkArticleRequest runs the article's request function with a cached token and keys.
func BenchmarkArticleRequest(b *testing.B) {
	step := compileInline(b, articleScript, Options{TokenURL: "http://127.0.0.1:9/token"})
	tokens, warm := &fakeTokens{}, warmKeys()
	_ = tokens.Save(context.Background(), secretFromString("Bearer tok"), pinned.Add(3600e9))
	b.ReportAllocs()
	for b.Loop() {
		x := newExchange("/pay", `{"timestamp":1700000000,"data":"hello"}`, tokens)
		x.Keys = warm
		if err := step.SignRequest(context.Background(), x); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkArticleRequestFetch includes the token fetch from a loopback endpoint every time.
func BenchmarkArticleRequestFetch(b *testing.B) {
	var calls atomic.Int32
	srv := tokenEndpoint(nil, &calls)
	defer srv.Close()
	step := compileInline(b, articleScript, Options{TokenURL: srv.URL + "/token"})
	b.ReportAllocs()
	for b.Loop() {
		x := newExchange("/pay", `{"timestamp":1700000000,"data":"hello"}`, &fakeTokens{})
		if err := step.SignRequest(context.Background(), x); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkArticleResponse(b *testing.B) {
	step := compileInline(b, articleScript, Options{})
	ct := base64.StdEncoding.EncodeToString(cbcEncrypt([]byte(testSecrets["aes_key"]), []byte(testSecrets["aes_iv"]), []byte(`{"orderId":"42"}`)))
	body := []byte(`{"code":0,"msg":"ok","data":"` + ct + `"}`)
	warm := warmKeys()
	b.ReportAllocs()
	for b.Loop() {
		x := newExchange("/pay", `{}`, nil)
		x.Keys = warm
		x.Response = &signerResponse{Status: 200, Body: body}
		if err := step.ProcessResponse(context.Background(), x); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkNewRuntime is the cost of a pool miss (a new, hardened runtime).
func BenchmarkNewRuntime(b *testing.B) {
	step := compileInline(b, articleScript, Options{})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := step.newVM(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEmptyRequestFunction is the floor of a custom-mode request: a function that does
// nothing, so what is left is the invocation itself (a pooled runtime, the processor slot, the
// time and memory budgets, the request objects bound to it, the output checks).
func BenchmarkEmptyRequestFunction(b *testing.B) {
	step := compileInline(b, `function (reqHeaders, reqParams, reqBody, AppKey, AesKey, AesIV, PrefixUrl, TokenUrl) {}`, Options{})
	warm := warmKeys()
	b.ReportAllocs()
	for b.Loop() {
		x := newExchange("/pay", `{"timestamp":1700000000,"data":"hello"}`, nil)
		x.Keys = warm
		if err := step.SignRequest(context.Background(), x); err != nil {
			b.Fatal(err)
		}
	}
}
