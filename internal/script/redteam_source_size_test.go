package script

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/keygate/keygate/internal/config"
)

// TestSourceSizeIsBounded: the parser recurses once per nesting level, with kilobytes of Go
// stack each, and `()=>` nesting reparses (quadratic time). A 1 MiB script of "(" (the admin
// API's body limit, sent to script/check by any tenant developer) needs more than Go's 1 GB
// stack: a fatal error that stops the whole gateway. A script over MaxSourceBytes is refused
// before it is parsed, with a syntax error at its start.
func TestSourceSizeIsBounded(t *testing.T) {
	bomb := "function f(){return " + strings.Repeat("()=>", (MaxSourceBytes+4096)/4) + "1}"
	start := time.Now()
	_, err := Compile(config.Script{Inline: bomb}, testBuild(t), Options{})
	var se *SyntaxError
	if !errors.As(err, &se) || se.Line != 1 || se.Column != 1 || !strings.Contains(se.Msg, "limit") {
		t.Fatalf("a %d-byte script: err %v, want a refusal at 1:1 naming the limit", len(bomb), err)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("refusing took %v: the script was parsed", d)
	}
	// A script just under the limit still compiles.
	ok := "function f(){return 1}\n" + strings.Repeat("// padding\n", (MaxSourceBytes-64)/11)
	if _, err := Compile(config.Script{Inline: ok}, testBuild(t), Options{}); err != nil {
		t.Fatalf("a %d-byte script: %v", len(ok), err)
	}
}
