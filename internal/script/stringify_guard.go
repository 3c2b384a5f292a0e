package script

import (
	"math"

	"github.com/dop251/goja"

	"github.com/keygate/keygate/internal/failure"
)

// maxJSONDepth bounds how deeply JSON.stringify (and the join estimate) nests: goja recurses in
// Go for each level, and each indented line repeats the indentation once per level.
const maxJSONDepth = 512

// guardedStringify is JSON.stringify(value, replacer, space) with its output counted as it is
// built: a replacer of keygate's (after the script's own, if any) adds each member's size and
// fails the invocation past the memory budget, before goja has built the whole text. A million
// references to one long string would otherwise stringify into a million copies in one call.
func (st *callState) guardedStringify(args []goja.Value) goja.Value {
	rt := st.rt
	value := arg0(args)
	var user goja.Callable
	var allow map[string]bool
	if len(args) > 1 {
		if f, ok := goja.AssertFunction(args[1]); ok {
			user = f
		} else if o, ok := args[1].(*goja.Object); ok && o.ClassName() == "Array" {
			allow = map[string]bool{}
			for _, k := range o.Keys() {
				allow[o.Get(k).String()] = true
			}
		}
	}
	gap := 0.0
	if len(args) > 2 {
		if s, ok := args[2].(goja.String); ok {
			gap = min(10, float64(s.Length()))
		} else if f := args[2].ToFloat(); !math.IsNaN(f) && f > 0 {
			gap = min(10, math.Floor(f))
		}
	}
	left := float64(st.mem.limit - st.mem.used)
	total := 0.0
	depth := map[*goja.Object]int{}
	replacer := func(c goja.FunctionCall) goja.Value {
		key, val := c.Argument(0), c.Argument(1)
		holder, _ := c.This.(*goja.Object)
		if user != nil {
			var err error
			if val, err = user(c.This, key, val); err != nil {
				panic(err)
			}
		} else if allow != nil && holder != nil && holder.ClassName() != "Array" && key.String() != "" && !allow[key.String()] {
			return goja.Undefined()
		}
		d := depth[holder] + 1
		if d > maxJSONDepth {
			st.fatal(failure.New(failure.Internal, "script", "JSON.stringify: nesting deeper than %d levels", maxJSONDepth))
		}
		if o, ok := val.(*goja.Object); ok {
			depth[o] = d
		}
		total += strLen(key) + 4 + gap*float64(d) + 6*strLen(val) + 24
		if total > left {
			st.overBudget()
		}
		return val
	}
	var rep goja.Value = goja.Undefined()
	if user != nil || allow != nil || !isPrimitive(value) {
		rep = rt.ToValue(replacer)
	}
	space := goja.Undefined()
	if len(args) > 2 {
		space = args[2]
	}
	out, err := st.jsonStringify(goja.Undefined(), value, rep, space)
	if err != nil {
		panic(err)
	}
	st.chargeValue(out)
	return out
}

func isPrimitive(v goja.Value) bool {
	_, isObj := v.(*goja.Object)
	return !isObj
}
