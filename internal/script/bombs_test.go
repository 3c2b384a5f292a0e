package script

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/keygate/keygate/internal/failure"
)

// TestBombs: scripts that allocate or loop inside built-ins, where goja's interrupt cannot
// reach. Each must fail its request with a clear error, stage script: over the memory budget
// (500) before the allocation, or out of time (504). The first three are the issue's.
func TestBombs(t *testing.T) {
	const memory, timeout = "memory budget", "ran longer than"
	for _, tc := range []struct {
		name, body, want string
		long             bool // a provider's long time limit: the watchdog, not the clock, stops it
	}{
		{"array fill", `new Array(5e7).fill(1)`, memory, false},
		{"string repeat", `'x'.repeat(3e8)`, memory, false},
		{"typed array fill", `new Uint8Array(1e9).fill(1)`, memory, false},
		{"array buffer", `new ArrayBuffer(1e9)`, memory, false},
		{"typed array from a sparse array", `new Float64Array(new Array(1e8))`, memory, false},
		{"typed array from", `Uint8Array.from({length: 1e9})`, memory, false},
		{"constructor from an instance", `new (new Uint8Array(1).constructor)(1e9)`, memory, false},
		{"pad", `'ab'.padEnd(1e9)`, memory, false},
		{"join of references", `var s = 'x'.repeat(1e5); new Array(1e4).fill(s).join('')`, memory, false},
		{"template of an array", `var s = 'x'.repeat(1e5); var a = new Array(1e4).fill(s); '' + a`, memory, false},
		{"stringify of references", `var s = 'x'.repeat(1e5); JSON.stringify(new Array(1e4).fill(s))`, memory, false},
		{"stringify deep", `var a = []; for (var i = 0; i < 1e4; i++) a = [a]; JSON.stringify(a, null, 10)`, "nesting deeper", false},
		{"apply with a huge array-like", `Array.apply(null, {length: 1e8})`, memory, false},
		{"from a huge array-like", `Array.from({length: 1e8})`, memory, false},
		{"walk a sparse array", `new Array(1e9).forEach(function () {})`, memory, false},
		{"map a sparse array", `new Array(1e9).map(function (x) { return x })`, memory, false},
		{"push loop", `var a = []; for (;;) a.push(1, 2, 3, 4)`, memory + "|" + timeout, false}, // slow under -race
		{"split", `'x'.repeat(2e6).split('')`, memory, false},
		{"replace amplification", `'a'.repeat(1e5).replaceAll('a', 'b'.repeat(1e3))`, memory, false},
		{"regexp replace", `/a/g[Symbol.replace]('a'.repeat(1e5), 'b'.repeat(1e3))`, memory, false},
		{"concat doubling", `var s = 'x'; for (;;) s += s`, timeout + "|" + memory, false}, // the clock or the watchdog
		{"flat of references", `var a = new Array(1e3).fill(1); new Array(1e4).fill(a).flat()`, memory, false},
		{"encoder", `hex_encode(new Uint8Array(2e7))`, memory, false},
		{"backtracking regexp", `for (;;) /^(a|aa)*\1$/.test('a'.repeat(40) + 'b')`, timeout, false},
		{"spread of a sparse array", `[...new Array(3e7)]`, memory, false},
		{"spread into a call", `Math.max(...new Array(3e7))`, memory, false},
		{"from an iterator", `Array.from(new Array(3e7).keys())`, memory, false},
		{"map from entries", `new Map(new Array(3e7).entries())`, memory, false},
		{"string iterator", `[...'x'.repeat(3e6)]`, memory, false},
		{"object keys of a sparse array", `Object.keys(new Array(1e9))`, memory, false},
		{"parse amplification", `JSON.parse('[' + '0,'.repeat(3e6) + '0]')`, memory, false},
		{"parse nesting", `JSON.parse('['.repeat(1e6) + ']'.repeat(1e6))`, "nesting deeper", false},
		{"join nesting", `var a = []; for (var i = 0; i < 2e4; i++) a = [a]; String(a)`, "nested deeper", false},
		{"flat nesting", `var a = []; for (var i = 0; i < 2e4; i++) a = [a]; a.flat(Infinity)`, "nested deeper", false},
		{"doubling under a long limit", `var s = 'x'; for (;;) s += s`, memory, true},
		{"element loop under a long limit", `var a = []; for (var i = 0; ; i++) a[i] = i`, memory, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			limit := 30 * time.Second // memory is the subject: time must not end it first, even under -race on a loaded machine
			switch {
			case tc.long:
				limit = time.Minute
			case strings.HasPrefix(tc.want, timeout):
				limit = 50 * time.Millisecond
			}
			step := compileInline(t, reqHead+tc.body+"\n}", Options{DefaultTimeout: limit})
			start := time.Now()
			err := step.SignRequest(context.Background(), newExchange("/p", `{}`, nil))
			matched := false
			for _, w := range strings.Split(tc.want, "|") {
				matched = matched || err != nil && strings.Contains(err.Error(), w)
			}
			if !matched || failure.StageOf(err) != "script" {
				t.Fatalf("err = %v, want stage script containing %q", err, tc.want)
			}
			t.Logf("%s: %v in %v", tc.name, err, time.Since(start))
		})
	}
}

// TestBudgetAllowsRealScripts: the budget counts what real scripts make many times over.
func TestBudgetAllowsRealScripts(t *testing.T) {
	step := compileInline(t, reqHead+`var s = 'x'.repeat(1 << 20), parts = s.split('x', 1000);
  var a = new Array(1000).fill('ab').join(','), j = JSON.stringify({a: a, n: [1, 2, 3]}, null, 2);
  var b = new Uint8Array(1 << 20).fill(7); for (var i = 0; i < 10; i++) b.fill(7).sort(); // in place: charged once
  reqBody.set('n', hex_encode(b.slice(0, 4)) + j.length + parts.length);
}`, Options{DefaultTimeout: 10 * time.Second}) // the race detector is slow
	x := newExchange("/p", `{}`, nil)
	if err := step.SignRequest(context.Background(), x); err != nil {
		t.Fatal(err)
	}
	if got := string(x.Request.Body()); got != `{"n":"0707070730461000"}` {
		t.Fatalf("body %s", got)
	}
}
