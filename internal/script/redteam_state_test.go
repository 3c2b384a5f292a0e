package script

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"testing"

	"github.com/keygate/keygate/internal/config"
)

// keepers are top levels that keep state out of the deep freeze's reach: a closure's scope
// (an IIFE, a callback a built-in calls, a getter read), a Map's entries, a class's private
// static field, an ArrayBuffer's bytes, an iterator's position, a destructured getter.
var keepers = map[string]string{
	"closure":              `var keep = (function () { var last = "none"; return function (v) { var p = last; last = v; return p } })();`,
	"callback closure":     `var keep = [0].map(function () { var last = "none"; return function (v) { var p = last; last = v; return p } })[0];`,
	"getter closure":       `var o = {get k() { var last = "none"; return function (v) { var p = last; last = v; return p } }}, keep = o.k;`,
	"map":                  `var m = new Map(), keep = function (v) { var p = m.get("k") || "none"; m.set("k", v); return p };`,
	"class private static": `var C = class { static #last = "none"; static swap(v) { var p = C.#last; C.#last = v; return p } }, keep = C.swap;`,
	"array buffer":         `var b = new Uint8Array(new ArrayBuffer(64)), keep = function (v) { return String(b[0]++) };`,
	"iterator":             `var it = [1, 2, 3, 4, 5, 6, 7, 8].values(), keep = function (v) { return String(it.next().value) };`,
	"destructuring":        `var {k: keep} = {get k() { var last = "none"; return function (v) { var p = last; last = v; return p } }};`,
	"spread":               `var o = {...{get k() { var last = "none"; return function (v) { var p = last; last = v; return p } }}}, keep = o.k;`,
	"computed key":         `var o = {[(function () { return "k" })()]: 1}, keep = function (v) { return "none" };`,
	"coerced operand":      `var s = "" + {toString: function () { return "x" }}, keep = function (v) { return "none" };`,
}

// TestRedTeamNoStateThroughAClosureOrAMap: docs/custom-mode.md says nothing survives from one
// request to the next. The deep freeze after the top level cannot reach a closure's scope, a
// Map's entries, a class's private fields: a top-level var initializer that ran code kept one
// request's body field and showed it to the next request in the same pooled runtime. A
// top-level var initializer now runs no code (inert.go): each is refused at Compile, and the
// inert top levels that remain (frozen literals, functions) keep nothing.
func TestRedTeamNoStateThroughAClosureOrAMap(t *testing.T) {
	for name, top := range keepers {
		_, err := Compile(config.Script{Inline: top + "\n" + reqHead + `reqHeaders.set("X-Prev", keep(reqBody.get("field")));
}`}, testBuild(t), Options{})
		var se *SyntaxError
		if !errors.As(err, &se) || !strings.Contains(err.Error(), "top-level var") {
			t.Errorf("%s: compiled (err %v): a top level that runs code", name, err)
		}
	}
	for name, top := range map[string]string{
		"frozen object": `var o = {last: "none", list: []};
function keep(v) { var p = o.last; try { o.last = v } catch (e) {} try { o.list.push(v) } catch (e) {} return p + "/" + o.list.length }`,
		"getter on a frozen object": `var o = {v: "none", get last() { return this.v }, set last(x) { this.v = x }};
function keep(v) { var p = o.last; try { o.last = v } catch (e) {} return p }`,
		"global var":    `var last = "none"; function keep(v) { var p = last; try { last = v } catch (e) {} return p }`,
		"function prop": `function keep(v) { var p = keep.last || "none"; try { keep.last = v } catch (e) {} return p }`,
		"regexp":        `var r = /x/g; function keep(v) { var p = String(r.lastIndex); try { r.exec("xxxx") } catch (e) {} return p === "0" ? "none" : p }`,
	} {
		step := compileInline(t, top+"\n"+reqHead+`reqHeaders.set("X-Prev", String(keep(reqBody.get("field"))));
}`, Options{})
		var first string
		for i, v := range []string{"first-callers-data", "second"} {
			x := newExchange("/p", `{"field":"`+v+`"}`, nil)
			if err := step.SignRequest(context.Background(), x); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			got := x.Request.Header.Get("X-Prev")
			if i == 0 {
				first = got
			} else if got != first || strings.Contains(got, "first-callers-data") {
				t.Errorf("%s: the second request saw %q, the first %q: state survived", name, got, first)
			}
		}
	}
}

// TestRedTeamRetainedStateGrowsTheHeap: the same gap as a denial of service. The memory budget
// and the watchdog measure what one invocation grows; what it kept (a top-level Map's entries)
// became the next invocation's starting point: 512 KiB kept per request grew the gateway's
// heap by 345 MB over 200 requests (up to the budget, 32 MiB, per request), in a process every
// tenant shares. Refused at Compile now; were it not, the heap check below would fail.
func TestRedTeamRetainedStateGrowsTheHeap(t *testing.T) {
	step, err := Compile(config.Script{Inline: `var m = new Map();
` + reqHead + `m.set(m.size, ("x" + m.size).repeat(1 << 19));
}`}, testBuild(t), Options{})
	if err != nil {
		return // refused: nothing is kept
	}
	t.Error("a top level that makes a Map compiled")
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	before := ms.HeapAlloc
	for range 200 {
		if err := step.SignRequest(context.Background(), newExchange("/p", `{}`, nil)); err != nil {
			t.Fatal(err)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&ms)
	if grown := int64(ms.HeapAlloc) - int64(before); grown > 64<<20 {
		t.Errorf("200 requests of one script grew the heap by %d MiB", grown>>20)
	}
}
