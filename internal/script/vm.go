package script

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/dop251/goja"

	"github.com/keygate/keygate/internal/jsonbody"
)

// vm is one pooled runtime with its built-ins, the script's functions and the article's request
// objects, all made once.
type vm struct {
	rt        *goja.Runtime
	st        *callState
	req, resp goja.Callable
	objs      requestObjects
}

// hardening runs before the script: it removes every way to compile code at run time (eval, the
// Function constructor and the constructors reachable from function prototypes) and returns the
// deep-freeze function applied after the script's top level has run.
var hardening = goja.MustCompile("keygate-hardening.js", `(function (g) {
  "use strict";
  var blocked = function () { throw new EvalError("code generation is disabled in keygate scripts"); };
  var protos = [Object.getPrototypeOf(function () {}), Object.getPrototypeOf(function* () {}),
    Object.getPrototypeOf(async function () {})];
  blocked.prototype = protos[0];
  for (var i = 0; i < protos.length; i++) {
    Object.defineProperty(protos[i], "constructor", {value: blocked, writable: false, configurable: false});
  }
  Object.defineProperty(g, "Function", {value: blocked, writable: false, configurable: false});
  Object.defineProperty(g, "eval", {value: blocked, writable: false, configurable: false});
  var seen = new Set();
  function freeze(o) {
    if (o === null || (typeof o !== "object" && typeof o !== "function") || seen.has(o)) return;
    seen.add(o);
    Object.freeze(o);
    freeze(Object.getPrototypeOf(o));
    var keys = Reflect.ownKeys(o);
    for (var i = 0; i < keys.length; i++) {
      var d = Object.getOwnPropertyDescriptor(o, keys[i]);
      if (!d) continue;
      if ("value" in d) freeze(d.value); else { freeze(d.get); freeze(d.set); }
    }
  }
  return freeze;
})(globalThis)`, true)

// topLevelLimit bounds a script's top level (below script.timeout): it runs at every Compile,
// inside the config owner's apply, for every provider of every tenant, and at every pool miss.
const topLevelLimit = time.Second

// freezeLimit is the least time the deep freeze after the top level may take.
const freezeLimit = time.Second

// newVM builds a runtime: built-ins, hardening, the script's top level, then a deep freeze of
// everything reachable so that no state survives from one request to the next.
func (s *Step) newVM() (*vm, error) {
	rt := goja.New()
	rt.SetMaxCallStackSize(s.opts.MaxStackDepth)
	st := &callState{rt: rt, step: s, budget: newBudget(rt)}
	st.mem.reset(s.memory) // the top level runs under the budget too
	rt.SetTimeSource(st.now)
	jsonObj := rt.Get("JSON").ToObject(rt)
	st.jsonParse, _ = goja.AssertFunction(jsonObj.Get("parse"))
	st.jsonStringify, _ = goja.AssertFunction(jsonObj.Get("stringify"))

	g := rt.GlobalObject()
	st.installDigests(g)
	st.installSigners(g)
	st.installCiphers(g)
	st.installEncoding(g)
	st.installHost(g)
	st.installVars(g)
	st.installLimits()
	v := &vm{rt: rt, st: st, objs: st.newRequestObjects()}

	freezeVal, err := rt.RunProgram(hardening)
	if err != nil {
		return nil, fmt.Errorf("script %s: hardening the runtime: %w", s.src.name, err)
	}
	freeze, _ := goja.AssertFunction(freezeVal)

	// The top level and the freeze run script code: under the time limit and, through the
	// watchdog, the memory budget (`s += s` in a var initializer grows the heap one operation
	// at a time, which no built-in wrapper sees).
	watcher.start(st, s.memory)
	defer watcher.stop(st)
	st.budget.start(s.topLevel)
	_, err = rt.RunProgram(s.program)
	failed := ""
	if err != nil {
		failed = s.describe(err) // a thrown object's toString is script code: inside the limit
	}
	if fired := st.budget.stop(); fired != nil {
		if fired == errTimedOut {
			return nil, fmt.Errorf("script %s: the top level ran longer than %v", s.src.name, s.topLevel)
		}
		return nil, fmt.Errorf("script %s: the top level: %v", s.src.name, fired)
	}
	if err != nil {
		return nil, fmt.Errorf("script %s: the top level failed: %s", s.src.name, failed)
	}
	var ok bool
	if v.req, ok = goja.AssertFunction(g.Get(s.reqFn)); !ok {
		return nil, fmt.Errorf("script %s: no request function %q", s.src.name, s.reqFn)
	}
	if s.respFn != "" {
		if v.resp, ok = goja.AssertFunction(g.Get(s.respFn)); !ok {
			return nil, fmt.Errorf("script %s: no response function %q", s.src.name, s.respFn)
		}
	}
	// The freeze runs script code too: Object.freeze and Reflect.ownKeys call a Proxy's traps.
	// Unbounded, a looping trap would hang Compile, and with it the config owner's apply.
	st.budget.start(max(s.timeout, freezeLimit))
	for _, o := range []goja.Value{g, v.objs.headers, v.objs.params, v.objs.body} {
		if _, err = freeze(goja.Undefined(), o); err != nil {
			break
		}
	}
	if fired := st.budget.stop(); fired != nil {
		return nil, fmt.Errorf("script %s: freezing the runtime (a Proxy trap of the top level?): %v", s.src.name, fired)
	}
	if err != nil {
		return nil, fmt.Errorf("script %s: freezing the runtime: %s", s.src.name, s.describe(err))
	}
	return v, nil
}

// stringify is JSON.stringify(v) (key order as the object holds it), under the memory budget;
// a throw propagates.
func (st *callState) stringify(v goja.Value) string {
	out := st.guardedStringify([]goja.Value{v})
	if goja.IsUndefined(out) {
		return "null"
	}
	return out.String()
}

// fromJSON turns a body field's raw JSON into a JavaScript value: strings, numbers and
// literals directly, objects and arrays through JSON.parse. FuzzResponseBodyObject holds each
// shortcut to JSON.parse's result.
func (st *callState) fromJSON(raw json.RawMessage) goja.Value {
	if len(raw) > 0 && raw[0] == '"' {
		if inner, ok := jsonbody.PlainString(raw); ok {
			return st.rt.ToValue(string(inner)) // no escapes: the text is the bytes (profiled hot)
		}
		// encoding/json unescapes as JSON.parse does, and fast, but an escaped lone surrogate
		// becomes U+FFFD where JS engines keep it: any \uD... escape takes goja's JSON.parse,
		// so the two agree whatever goja does (today it gives U+FFFD too: docs/mutation.md).
		var s string
		if !hasSurrogateEscape(raw) && json.Unmarshal(raw, &s) == nil {
			return st.rt.ToValue(s)
		}
	}
	switch string(raw) {
	case "true":
		return st.rt.ToValue(true)
	case "false":
		return st.rt.ToValue(false)
	case "null":
		return goja.Null()
	}
	if len(raw) > 0 && (raw[0] == '-' || raw[0] >= '0' && raw[0] <= '9') {
		// JSON.parse reads a number through encoding/json as a float64 (goja's decoder), so
		// ParseFloat gives the same value; out of range, JSON.parse decides (it throws).
		if f, err := strconv.ParseFloat(string(raw), 64); err == nil {
			return st.rt.ToValue(f)
		}
	}
	v, err := st.jsonParse(goja.Undefined(), st.rt.ToValue(string(raw)))
	if err != nil {
		panic(err)
	}
	return v
}

// get takes a runtime from the pool, building one when it is empty. The pool is a channel, not
// a sync.Pool: a hardened runtime costs milliseconds to build and must survive garbage
// collections.
func (s *Step) get() (*vm, error) {
	select {
	case v := <-s.pool:
		return v, nil
	default:
		return s.newVM()
	}
}

// put returns a healthy runtime; a full pool drops it.
func (s *Step) put(v *vm) {
	select {
	case s.pool <- v:
	default:
	}
}

// hasSurrogateEscape reports whether a JSON string holds a \uD800-\uDFFF escape.
func hasSurrogateEscape(raw []byte) bool {
	for i := 0; i+2 < len(raw); i++ {
		if raw[i] == '\\' {
			if raw[i+1] == 'u' && (raw[i+2] == 'd' || raw[i+2] == 'D') {
				return true
			}
			i++ // an escaped character, possibly a backslash
		}
	}
	return false
}
