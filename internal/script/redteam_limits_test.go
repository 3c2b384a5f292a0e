package script

import (
	"strings"
	"testing"
	"time"

	"github.com/keygate/keygate/internal/config"
)

// Red team: a hostile tenant admin sets script.timeout to an hour on a looping script and runs
// it through the admin API's dry run (whose context lives as long as the admin connection, not
// Envoy's message timeout). The slots are work-conserving (a tenant alone takes all of them) and
// not preemptible, so while its scripts loop every other tenant's script waits: the fair share
// applies only to the next grant, an hour later. The time limit must have a ceiling.
func TestRedTeamHourLongScriptTimeoutIsRefused(t *testing.T) {
	_, err := Compile(config.Script{Inline: reqHead + "for (;;) {}\n}", Timeout: config.Duration(time.Hour)}, testBuild(t), Options{})
	if err == nil {
		t.Fatal("a script with timeout 1h compiled: its loops would hold the processor slots for an hour")
	}
	if !strings.Contains(err.Error(), "script.timeout") {
		t.Fatalf("error %q does not name script.timeout", err)
	}
	// At the ceiling it compiles.
	if _, err := Compile(config.Script{Inline: reqHead + "}", Timeout: config.Duration(DefaultMaxTimeout)}, testBuild(t), Options{}); err != nil {
		t.Fatal(err)
	}
}

// Red team: the deep freeze after the top level runs outside the time limit, and Object.freeze
// and Reflect.ownKeys on a Proxy call the script's traps. A top level that leaves a Proxy whose
// ownKeys trap loops on the global object hung Compile for ever, and Compile runs inside the
// config owner's apply: every later config change, of every tenant, waited behind it.
func TestRedTeamProxyTrapInDeepFreezeIsTimeLimited(t *testing.T) {
	loop := "function () { for (;;) {} }"
	for name, top := range map[string]string{
		"ownKeys":           "var trap = new Proxy({}, {ownKeys: " + loop + "});",
		"preventExtensions": "var trap = new Proxy({}, {preventExtensions: " + loop + "});",
		"getPrototypeOf":    "var trap = new Proxy({}, {getPrototypeOf: " + loop + "});",
		"descriptor":        "var trap = new Proxy({}, {getOwnPropertyDescriptor: " + loop + ", ownKeys: function () { return ['a'] }});",
		"thrown toString":   "var x = (function () { throw {toString: " + loop + "} })();",
	} {
		t.Run(name, func(t *testing.T) {
			src := top + "\n" + reqHead + "}"
			done := make(chan error, 1)
			go func() {
				_, err := Compile(config.Script{Inline: src}, testBuild(t), Options{DefaultTimeout: 100 * time.Millisecond})
				done <- err
			}()
			select {
			case err := <-done:
				if err == nil {
					t.Fatal("a script whose top level leaves a looping trap compiled")
				}
			case <-time.After(10 * time.Second):
				t.Fatal("Compile hung after the top level (script code ran outside the time limit)")
			}
		})
	}
}

// Red team: the top level of a script runs at Compile, where the memory watchdog was not
// running: a var initializer that doubles a string (s += s, one JavaScript operation each, seen
// by no built-in wrapper) built 128 MiB under a 32 MiB budget, and with a longer time limit
// grows until the process is killed, taking every tenant down at config apply. The top level
// runs under the same memory budget as a request.
func TestRedTeamTopLevelStaysInItsMemoryBudget(t *testing.T) {
	// The top level grows an array one cheap operation at a time, without end: only the memory
	// budget can stop it. Its time limits are lifted to a minute, so the test does not depend on
	// how fast a loaded machine runs it under -race (the watchdog samples every few ms; should it
	// fail to, the minute ends the loop and the error says so).
	src := "var big = (function () { var a = []; for (var i = 0; ; i++) { a.push('x' + i) } })();\n" + reqHead + "}"
	_, err := Compile(config.Script{Inline: src, Timeout: config.Duration(time.Minute), MemoryBytes: 1 << 20}, testBuild(t),
		Options{MaxTimeout: time.Minute, topLevel: time.Minute})
	if err == nil {
		t.Fatal("a top level that grows without end compiled under a 1 MiB budget")
	}
	// The top level runs no code now (inert.go): refused before it runs; the budget stays behind it.
	if !strings.Contains(err.Error(), "memory") && !strings.Contains(err.Error(), "top-level var") {
		t.Fatalf("error %q does not say the top level went over its memory budget", err)
	}
}

// Red team: a script's top level runs at every Compile (every config version of every tenant
// recompiles every provider, inside the config owner's apply) and at every pool miss under a
// processor slot. With script.timeout at its ceiling, a top level that busies itself for 9 s and
// then succeeds made every later config change, of every tenant, wait 9 s, and each new runtime
// cost 9 s of a slot. The top level has a limit of its own, much shorter.
func TestRedTeamSlowTopLevelIsRefused(t *testing.T) {
	src := "var t0 = Date.now(), spin = (function () { while (Date.now() - t0 < 3000) {} return 1 })();\n" + reqHead + "}"
	start := time.Now()
	_, err := Compile(config.Script{Inline: src, Timeout: config.Duration(10 * time.Second)}, testBuild(t), Options{})
	if err == nil {
		t.Fatalf("a top level that ran %v compiled", time.Since(start).Round(time.Second))
	}
	if !strings.Contains(err.Error(), "top level") && !strings.Contains(err.Error(), "top-level var") { // refused before it runs (inert.go)
		t.Fatalf("error %q does not name the top level", err)
	}
}
