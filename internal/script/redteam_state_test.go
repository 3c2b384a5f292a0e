package script

import (
	"context"
	"runtime"
	"testing"

	"github.com/keygate/keygate/internal/config"
)

// TestRedTeamNoStateThroughAClosureOrAMap: docs/custom-mode.md says the deep freeze after the
// top level leaves nothing that survives from one request to the next. A top-level var
// initializer runs code, and what it creates is out of the freeze's reach: a closure's scope
// (an IIFE), a Map's entries, a class's private static field. Each carries one request's body
// field into the next request's output in the same pooled runtime (same provider, same
// tenant: the script had the value). Known, not fixed: closing it means a top level that runs
// no code (limits tests rely on one that does) or a runtime per request; a design decision.
func TestRedTeamNoStateThroughAClosureOrAMap(t *testing.T) {
	t.Skip("known gap (red team x2): state survives requests through closures, Map entries and private fields")
	for name, src := range map[string]string{
		"closure": `var keep = (function () { var last = "none"; return function (v) { var p = last; last = v; return p } })();
` + reqHead + `reqHeaders.set("X-Prev", keep(reqBody.get("field")));
}`,
		"map": `var m = new Map();
` + reqHead + `reqHeaders.set("X-Prev", String(m.get("k") || "none")); m.set("k", reqBody.get("field"));
}`,
		"class private static": `var C = class { static #last = "none"; static swap(v) { var p = C.#last; C.#last = v; return p } };
` + reqHead + `reqHeaders.set("X-Prev", C.swap(reqBody.get("field")));
}`,
	} {
		step, err := Compile(config.Script{Inline: src}, testBuild(t), Options{})
		if err != nil {
			continue // refused at compile: closed
		}
		for _, v := range []string{"first-callers-data", "second"} {
			x := newExchange("/p", `{"field":"`+v+`"}`, nil)
			if err := step.SignRequest(context.Background(), x); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if got := x.Request.Header.Get("X-Prev"); got != "none" {
				t.Errorf("%s: a request saw %q, the body field of an earlier request", name, got)
			}
		}
	}
}

// TestRedTeamRetainedStateGrowsTheHeap: the same gap as a denial of service. The memory budget
// and the watchdog measure what one invocation grows; what it keeps (a top-level Map's
// entries) becomes the next invocation's starting point. A script that keeps 512 KiB per
// request grew the gateway's heap by 345 MB over 200 requests (it keeps up to the budget, 32
// MiB, per request), in a process every tenant shares. Known, not fixed (see above).
func TestRedTeamRetainedStateGrowsTheHeap(t *testing.T) {
	t.Skip("known gap (red team x2): a pooled runtime keeps what a top-level Map holds, request after request")
	step := compileInline(t, `var m = new Map();
`+reqHead+`m.set(m.size, ("x" + m.size).repeat(1 << 19));
}`, Options{})
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	before := ms.HeapAlloc
	for range 200 {
		if err := step.SignRequest(context.Background(), newExchange("/p", `{}`, nil)); err != nil {
			return // refused: closed
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&ms)
	if grown := int64(ms.HeapAlloc) - int64(before); grown > 64<<20 {
		t.Errorf("200 requests of one script grew the heap by %d MiB", grown>>20)
	}
}
