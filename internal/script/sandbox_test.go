package script

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/internal/failure"
)

const reqHead = "function (reqHeaders, reqParams, reqBody, AppKey, AesKey, AesIV, PrefixUrl, TokenUrl) {\n"

func TestSandbox(t *testing.T) {
	tests := []struct {
		name, body string
		kind       failure.Kind
		msg        string
	}{
		{"infinite loop", "for (;;) {}", failure.Timeout, "script ran longer than"},
		{"runaway recursion", "function f(n) { return f(n + 1) + 1 } f(0)", failure.Internal, "call stack deeper than 256 frames"},
		{"exception with position", "var a = 1;\n  null.x;", failure.Internal, "script error: TypeError: Cannot read property 'x' of undefined at 3:8"},
		{"thrown string", "throw 'boom'", failure.Internal, "script error: boom at 2:1"},
		{"no require", "require('fs')", failure.Internal, "ReferenceError: require is not defined"},
		{"no eval", "eval('1')", failure.Internal, "code generation is disabled"},
		{"no Function", "Function('return 1')()", failure.Internal, "code generation is disabled"},
		{"no constructor escape", "(function(){}).constructor('return 1')()", failure.Internal, "code generation is disabled"},
		{"no async constructor escape", "(async function(){}).constructor('return 1')", failure.Internal, "code generation is disabled"},
		{"no process", "process.exit(1)", failure.Internal, "ReferenceError: process is not defined"},
		{"frozen globals", "'use strict'; globalThis.stash = 1", failure.Internal, "TypeError"},
		{"frozen prototypes", "'use strict'; Array.prototype.stash = 1", failure.Internal, "TypeError"},
		{"other hosts refused", "http_post_json('http://127.0.0.1:1/x', {}, {})", failure.Internal, "only the provider's token endpoint"},
		{"no token url", "reqHeaders.setURI('relative')", failure.Internal, "want an absolute path"},
		{"bad body is the caller's", "reqBody.get('x')", failure.BadRequest, "the request body"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			opts := Options{TokenURL: "http://127.0.0.1:9/token"}
			if tc.kind == failure.Timeout {
				opts.DefaultTimeout = 50 * time.Millisecond // the production default (main_test.go raises it)
			}
			step := compileInline(t, reqHead+tc.body+"\n}", opts)
			body := `{}`
			if tc.kind == failure.BadRequest {
				body = `not json`
			}
			err := step.SignRequest(context.Background(), newExchange("/p", body, nil))
			if failure.KindOf(err) != tc.kind || failure.StageOf(err) != "script" || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("err = %v (kind %v), want %v containing %q", err, failure.KindOf(err), tc.kind, tc.msg)
			}
		})
	}
}

// TestPositionOnTheRenamedLine: the name given to an anonymous function does not shift columns.
func TestPositionOnTheRenamedLine(t *testing.T) {
	step := compileInline(t, "function (a) { null.x }", Options{})
	err := step.SignRequest(context.Background(), newExchange("/p", `{}`, nil))
	if err == nil || !strings.HasSuffix(err.Error(), " at 1:21") {
		t.Fatalf("err = %v, want at 1:21", err)
	}
}

func TestStateDoesNotSurviveRequests(t *testing.T) {
	step := compileInline(t, `var seen = {n: 0};
function (reqHeaders, reqParams, reqBody) { seen.n = seen.n + 1; count = 5; reqBody.set("n", seen.n) }`, Options{})
	for range 3 {
		x := newExchange("/p", `{}`, nil)
		if err := step.SignRequest(context.Background(), x); err != nil {
			t.Fatal(err)
		}
		if string(x.Request.Body()) != `{"n":0}` {
			t.Fatalf("body %s: state survived", x.Request.Body())
		}
	}
}

func TestCompileErrors(t *testing.T) {
	tests := []struct {
		name, src      string
		line, col      int
		msg            string
		notSyntaxError bool
	}{
		{"syntax error after an anonymous function", "function (a) {\n  return a;\n}\n\nfunction (b) {\n  var x = ;\n}\n", 6, 11, "Unexpected token ;", false},
		{"top-level let", "let cache = {};\nfunction (a) {}\n", 1, 1, "only function declarations", false},
		{"top-level call", "function f() {}\nf();\n", 2, 1, "only function declarations", false},
		{"no function", "var a = 1;\n", 1, 1, "defines no function", false},
		{"unknown name", "function f() {}\n", 0, 0, `no request function "g"`, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := config.Script{Inline: tc.src}
			if tc.notSyntaxError {
				cfg.Request = "g"
			}
			_, err := Compile(cfg, testBuild(t), Options{})
			if err == nil || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("err = %v, want %q", err, tc.msg)
			}
			var se *SyntaxError
			if tc.notSyntaxError {
				return
			}
			if !errors.As(err, &se) || se.Line != tc.line || se.Column != tc.col || se.File != "inline" {
				t.Fatalf("err = %#v, want inline:%d:%d", err, tc.line, tc.col)
			}
		})
	}
	t.Run("file name in errors", func(t *testing.T) {
		_, err := Compile(config.Script{File: "missing.js"}, testBuild(t), Options{BaseDir: t.TempDir()})
		if err == nil || !strings.Contains(err.Error(), "missing.js") {
			t.Fatalf("err = %v", err)
		}
	})
}

// TestLoopingScriptDoesNotHurtOthers runs a looping script and a good one concurrently: the loop
// times out each time, the good script always succeeds.
func TestLoopingScriptDoesNotHurtOthers(t *testing.T) {
	bad := compileInline(t, reqHead+"while (true) {}\n}", Options{DefaultTimeout: 20 * time.Millisecond})
	good := compileInline(t, reqHead+"reqBody.set('sign', hmac_sha256(secret('other'), reqBody.buildSignStr()))\n}", Options{})
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 8 {
				if g%2 == 0 {
					if err := bad.SignRequest(context.Background(), newExchange("/p", `{}`, nil)); failure.KindOf(err) != failure.Timeout {
						errs <- err
					}
					continue
				}
				x := newExchange("/p", `{"a":"b"}`, nil)
				if err := good.SignRequest(context.Background(), x); err != nil || !strings.Contains(string(x.Request.Body()), `"sign":"`) {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("unexpected outcome: %v", err)
	}
}

func TestContextCancelStopsScript(t *testing.T) {
	step := compileInline(t, reqHead+"for (;;) {}\n}", Options{DefaultTimeout: time.Minute})
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(10*time.Millisecond, cancel)
	err := step.SignRequest(ctx, newExchange("/p", `{}`, nil))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want canceled", err)
	}
}
