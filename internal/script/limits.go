package script

import (
	"strconv"
	"sync"
	"time"

	"github.com/dlclark/regexp2/v2"
	"github.com/dop251/goja"

	"github.com/keygate/keygate/internal/failure"
)

// goja has no memory limit, and its Interrupt is checked between JavaScript operations, never
// inside a built-in: `'x'.repeat(3e8)` allocates 300 MB and `new Array(5e7).fill(1)` loops 5e7
// times in Go, however short the time limit. So before the script runs, the built-ins that
// allocate in proportion to an argument, or loop over an array's length in Go, are wrapped: the
// wrapper estimates what the call will make (or loop over) and fails the invocation when that
// would exceed the memory budget, before the allocation; what the call made is then charged.
// The wrappers are installed before the deep freeze, so the script cannot reach the originals.

// elemBytes is what one array element costs (a goja Value), counted for arrays a call makes
// and, as a bound on the work of a Go loop, for arrays a call walks.
const elemBytes = 16

// typedElemSize is each typed array constructor's element size.
var typedElemSize = map[string]float64{
	"Int8Array": 1, "Uint8Array": 1, "Uint8ClampedArray": 1, "Int16Array": 2, "Uint16Array": 2,
	"Int32Array": 4, "Uint32Array": 4, "Float32Array": 4, "Float64Array": 8,
	"BigInt64Array": 8, "BigUint64Array": 8,
}

// stringAmplifiers are the String.prototype methods whose result can be much larger than their
// inputs, each with an estimate of its result in bytes (this is the string, L its length).
var stringAmplifiers = map[string]func(L float64, args []goja.Value) float64{
	"repeat":            func(L float64, a []goja.Value) float64 { return L * num(a, 0) },
	"padStart":          func(_ float64, a []goja.Value) float64 { return num(a, 0) * 2 },
	"padEnd":            func(_ float64, a []goja.Value) float64 { return num(a, 0) * 2 },
	"concat":            func(L float64, a []goja.Value) float64 { return L + strLens(a) },
	"replace":           func(L float64, a []goja.Value) float64 { return L * (1 + strLens(a[min(1, len(a)):])) },
	"replaceAll":        func(L float64, a []goja.Value) float64 { return L * (1 + strLens(a[min(1, len(a)):])) },
	"split":             func(L float64, _ []goja.Value) float64 { return (L + 1) * (elemBytes + 8) },
	"match":             func(L float64, _ []goja.Value) float64 { return (L + 1) * elemBytes },
	"matchAll":          func(L float64, _ []goja.Value) float64 { return (L + 1) * elemBytes },
	"normalize":         func(L float64, _ []goja.Value) float64 { return 3 * L },
	"toUpperCase":       func(L float64, _ []goja.Value) float64 { return 3 * L },
	"toLowerCase":       func(L float64, _ []goja.Value) float64 { return 3 * L },
	"toLocaleUpperCase": func(L float64, _ []goja.Value) float64 { return 3 * L },
	"toLocaleLowerCase": func(L float64, _ []goja.Value) float64 { return 3 * L },
}

// arrayLazy are Array.prototype members left as they are: iterators (lazy, and
// Array.prototype[Symbol.iterator] must stay the same function as values) and the constructor.
var arrayLazy = map[string]bool{"constructor": true, "values": true, "keys": true, "entries": true, "length": true}

// installLimits wraps the allocating built-ins of rt. Called once per runtime, before hardening.
func (st *callState) installLimits() {
	rt := st.rt
	proto := func(name string) *goja.Object { return rt.Get(name).ToObject(rt).Get("prototype").ToObject(rt) }

	sp := proto("String")
	for name, est := range stringAmplifiers {
		st.wrapMethod(sp, name, func(this goja.Value, args []goja.Value) float64 {
			return est(strLen(this), args)
		})
	}

	ap := proto("Array")
	for _, name := range ap.GetOwnPropertyNames() { // all data properties
		st.wrapArrayMethod(ap, name, elemBytes)
	}
	// Iterators: a spread or Array.from/new Set/new Map over one runs the whole iteration inside
	// one operation ([...new Array(3e7)] ran 73 s). Making the iterator checks what iterating
	// it all would make. values and [Symbol.iterator] stay one function.
	st.wrapIterators(ap, elemBytes)
	st.wrapIterators(proto("String"), elemBytes)
	obj := rt.Get("Object").ToObject(rt)
	for _, name := range []string{"keys", "values", "entries", "getOwnPropertyNames", "assign", "fromEntries"} {
		st.wrapMethod(obj, name, func(_ goja.Value, args []goja.Value) float64 {
			var n float64
			for _, a := range args {
				n += lengthOf(rt, a)
			}
			return n * elemBytes * 3
		})
	}
	arr := rt.Get("Array").ToObject(rt)
	st.wrapMethod(arr, "from", func(_ goja.Value, args []goja.Value) float64 { return lengthOf(rt, arg0(args)) * elemBytes })
	st.wrapMethod(arr, "of", func(_ goja.Value, args []goja.Value) float64 { return float64(len(args)) * elemBytes })

	fp := proto("Function")
	st.wrapMethod(fp, "apply", func(_ goja.Value, args []goja.Value) float64 {
		if len(args) > 1 {
			return lengthOf(rt, args[1]) * elemBytes
		}
		return 0
	})
	refl := rt.Get("Reflect").ToObject(rt)
	for _, name := range []string{"apply", "construct"} {
		st.wrapMethod(refl, name, func(_ goja.Value, args []goja.Value) float64 {
			i := map[string]int{"apply": 2, "construct": 1}[name]
			if len(args) > i {
				return lengthOf(rt, args[i]) * elemBytes
			}
			return 0
		})
	}

	json := rt.Get("JSON").ToObject(rt)
	_ = json.Set("stringify", func(c goja.FunctionCall) goja.Value { return st.guardedStringify(c.Arguments) })
	// JSON.parse makes a 16-byte value of each 2-byte "0,", and recurses in Go per level.
	st.wrapMethod(json, "parse", func(_ goja.Value, args []goja.Value) float64 {
		if s, ok := arg0(args).(goja.String); ok && jsonDepth(s.String()) > maxJSONDepth {
			st.fatal(failure.New(failure.Internal, "script", "JSON.parse: nesting deeper than %d levels", maxJSONDepth))
		}
		return strLen(arg0(args)) * elemBytes / 2
	})

	typedProto := proto("Uint8Array").Prototype() // %TypedArray%.prototype; its accessors stay
	st.wrapIterators(typedProto, elemBytes)
	for _, name := range []string{"toString", "join", "toLocaleString", "slice", "map", "filter", "fill", "sort", "subarray", "set", "reverse", "indexOf", "lastIndexOf", "includes", "forEach", "every", "some", "reduce", "reduceRight", "find", "findIndex", "findLast", "findLastIndex", "copyWithin", "at", "with", "toReversed", "toSorted"} {
		st.wrapArrayMethod(typedProto, name, 8)
	}
	for name, size := range typedElemSize {
		st.wrapConstructor(name, func(args []goja.Value) float64 {
			a := arg0(args)
			if o, ok := a.(*goja.Object); ok {
				if o.ClassName() == "ArrayBuffer" {
					return 0 // a view: allocates nothing
				}
				return lengthOf(rt, o) * size
			}
			return num(args, 0) * size
		})
		ctor := rt.Get(name).ToObject(rt)
		for _, m := range []string{"from", "of"} {
			st.wrapMethod(ctor, m, func(_ goja.Value, args []goja.Value) float64 {
				if m == "of" {
					return float64(len(args)) * size
				}
				return lengthOf(rt, arg0(args)) * size
			})
		}
	}
	st.wrapConstructor("ArrayBuffer", func(args []goja.Value) float64 { return num(args, 0) })
	st.wrapMethod(proto("ArrayBuffer"), "slice", func(this goja.Value, _ []goja.Value) float64 {
		return lengthOf(rt, this.ToObject(rt).Get("byteLength"))
	})
	rp := proto("RegExp")
	for sym, est := range map[*goja.Symbol]string{goja.SymReplace: "replace", goja.SymSplit: "split", goja.SymMatch: "match", goja.SymMatchAll: "matchAll"} {
		orig, ok := goja.AssertFunction(rp.GetSymbol(sym))
		if !ok {
			continue
		}
		estimate := stringAmplifiers[est]
		_ = rp.DefineDataPropertySymbol(sym, rt.ToValue(func(c goja.FunctionCall) goja.Value {
			st.need(estimate(strLen(arg0(c.Arguments)), c.Arguments)) // (string, replacement) as (pattern, replacement)
			return st.callCharged(orig, c)
		}), goja.FLAG_TRUE, goja.FLAG_FALSE, goja.FLAG_TRUE)
	}
}

// wrapMethod replaces obj[name] with a function that checks est's estimate against the budget,
// calls the original and charges what it returned.
func (st *callState) wrapMethod(obj *goja.Object, name string, est func(this goja.Value, args []goja.Value) float64) {
	orig, ok := goja.AssertFunction(obj.Get(name))
	if !ok {
		return
	}
	_ = obj.DefineDataProperty(name, st.rt.ToValue(func(c goja.FunctionCall) goja.Value {
		st.need(est(c.This, c.Arguments))
		return st.callCharged(orig, c)
	}), goja.FLAG_TRUE, goja.FLAG_FALSE, goja.FLAG_TRUE)
}

// wrapIterators wraps proto's keys, values, entries and [Symbol.iterator] (values and the
// iterator are the same function where they were): each checks this.length elements of size
// bytes (three for entries' pairs) against the budget when the iterator is made.
func (st *callState) wrapIterators(proto *goja.Object, size float64) {
	rt := st.rt
	iter := proto.GetSymbol(goja.SymIterator)
	var wrappedIter goja.Value
	for _, name := range []string{"keys", "values", "entries"} {
		v := proto.Get(name)
		orig, ok := goja.AssertFunction(v)
		if !ok {
			continue
		}
		per := size
		if name == "entries" {
			per = 3 * size
		}
		w := rt.ToValue(func(c goja.FunctionCall) goja.Value {
			st.need(lengthOf(rt, c.This) * per)
			return st.callCharged(orig, c)
		})
		_ = proto.DefineDataProperty(name, w, goja.FLAG_TRUE, goja.FLAG_FALSE, goja.FLAG_TRUE)
		if iter != nil && iter.SameAs(v) {
			wrappedIter = w
		}
	}
	if wrappedIter == nil {
		orig, ok := goja.AssertFunction(iter)
		if !ok {
			return
		}
		wrappedIter = rt.ToValue(func(c goja.FunctionCall) goja.Value {
			st.need(lengthOf(rt, c.This) * size)
			return st.callCharged(orig, c)
		})
	}
	_ = proto.DefineDataPropertySymbol(goja.SymIterator, wrappedIter, goja.FLAG_TRUE, goja.FLAG_FALSE, goja.FLAG_TRUE)
}

// wrapArrayMethod wraps an array (or typed array) method: the call may walk this.length
// elements in Go and make an array as long, so this.length elements of size bytes must fit.
func (st *callState) wrapArrayMethod(obj *goja.Object, name string, size float64) {
	if arrayLazy[name] {
		return
	}
	rt := st.rt
	st.wrapMethod(obj, name, func(this goja.Value, args []goja.Value) float64 {
		n := lengthOf(rt, this)
		switch name {
		case "concat", "push", "unshift", "splice", "toSpliced":
			for _, a := range args {
				n += max(lengthOf(rt, a), 1)
			}
		case "join", "toString", "toLocaleString":
			if size == elemBytes { // elements may be long strings, or arrays joined in turn
				st.need(n * elemBytes)
				return st.walkSize(this, n, 1+strLen(arg0(args)), false)
			}
			n *= 1 + strLen(arg0(args))
		case "flat", "flatMap":
			if size == elemBytes {
				st.need(n * elemBytes)
				return st.walkSize(this, n, 0, true)
			}
		}
		return n * size
	})
}

// walkSize estimates, without running script code, what joining (or, with flat, flattening) an
// array makes: the sum of its elements' sizes, nested arrays included, stopping as soon as the
// budget is exceeded. A million references to one long string join into a million copies.
func (st *callState) walkSize(v goja.Value, n, sep float64, flat bool) float64 {
	return st.walk(v, n, sep, flat, 0, map[*goja.Object]float64{})
}

// walk sums an array's size; seen remembers arrays already summed (one array referenced many
// times is walked once).
func (st *callState) walk(v goja.Value, n, sep float64, flat bool, depth int, seen map[*goja.Object]float64) float64 {
	o, ok := v.(*goja.Object)
	if !ok || o.ClassName() != "Array" {
		return n * elemBytes
	}
	if depth > maxJSONDepth { // goja recurses in Go per level: a million levels overflow its stack
		st.fatal(failure.New(failure.Internal, "script", "arrays nested deeper than %d levels", maxJSONDepth))
	}
	if size, ok := seen[o]; ok {
		return size
	}
	seen[o] = n * elemBytes // a cycle counts the array once
	left := float64(st.mem.limit - st.mem.used)
	total := 0.0
	for i := 0; i < int(n) && total <= left; i++ {
		e := o.Get(strconv.Itoa(i))
		total += sep
		switch {
		case e == nil:
		case strLen(e) > 0:
			if !flat {
				total += strLen(e)
			}
		default:
			if eo, ok := e.(*goja.Object); ok && eo.ClassName() == "Array" {
				total += st.walk(eo, lengthOf(st.rt, eo), sep, flat, depth+1, seen)
				continue
			}
			total += elemBytes
		}
	}
	seen[o] = total
	return total
}

// wrapConstructor replaces the global constructor name with one that checks est first. The
// wrapper shares the original's prototype, and prototype.constructor points to the wrapper, so
// the original cannot be reached from an instance.
func (st *callState) wrapConstructor(name string, est func(args []goja.Value) float64) {
	rt := st.rt
	origObj := rt.Get(name).ToObject(rt)
	orig, ok := goja.AssertConstructor(origObj)
	if !ok {
		return
	}
	w := rt.ToValue(func(c goja.ConstructorCall) *goja.Object {
		st.need(est(c.Arguments))
		o, err := orig(nil, c.Arguments...)
		if err != nil {
			panic(err)
		}
		st.chargeValue(o)
		return o
	}).ToObject(rt)
	p := origObj.Get("prototype").ToObject(rt)
	_ = w.DefineDataProperty("prototype", p, goja.FLAG_FALSE, goja.FLAG_FALSE, goja.FLAG_FALSE)
	_ = p.DefineDataProperty("constructor", w, goja.FLAG_TRUE, goja.FLAG_FALSE, goja.FLAG_TRUE)
	for _, k := range origObj.Keys() {
		_ = w.Set(k, origObj.Get(k))
	}
	for _, k := range []string{"from", "of", "isView", "BYTES_PER_ELEMENT"} {
		if v := origObj.Get(k); v != nil && !goja.IsUndefined(v) {
			_ = w.Set(k, v)
		}
	}
	_ = w.SetPrototype(origObj.Prototype())
	_ = rt.GlobalObject().DefineDataProperty(name, w, goja.FLAG_TRUE, goja.FLAG_FALSE, goja.FLAG_TRUE)
}

// callCharged calls orig and charges its result.
func (st *callState) callCharged(orig goja.Callable, c goja.FunctionCall) goja.Value {
	r, err := orig(c.This, c.Arguments...)
	if err != nil {
		panic(err) // a *goja.Exception is rethrown as it was; an interrupt stays one
	}
	if r != nil && c.This != nil && r.SameAs(c.This) {
		return r // fill, sort, reverse, copyWithin: the array was there already
	}
	st.chargeValue(r)
	return r
}

// chargeValue charges a value a built-in made: a string's length, an array's elements, a
// buffer's bytes.
func (st *callState) chargeValue(v goja.Value) {
	if v == nil {
		return
	}
	if o, ok := v.(*goja.Object); ok {
		// Never Export here: exporting an array copies every element.
		switch o.ClassName() {
		case "Array":
			st.chargeBytes(lengthOf(st.rt, o) * elemBytes)
		case "ArrayBuffer":
			st.chargeBytes(lengthOf(st.rt, o.Get("byteLength")))
		default:
			if bl := o.Get("byteLength"); bl != nil && !goja.IsUndefined(bl) { // typed arrays
				st.chargeBytes(lengthOf(st.rt, bl))
			}
		}
		return
	}
	st.chargeBytes(float64(strLen(v)))
}

// regexpMatchTimeout bounds one backtracking regular expression match. goja runs patterns
// that Go's linear regexp cannot (backreferences, lookaround) on regexp2, which backtracks in
// Go where the interrupt cannot reach: /^(a|aa)*\1$/ on 40 characters ran 44 s. A match over
// the bound fails as "no match" (goja's handling of regexp2's timeout); the script's own time
// limit still ends the invocation.
const regexpMatchTimeout = 100 * time.Millisecond

var boundRegexpsOnce sync.Once

// boundRegexps sets regexp2's process-wide match timeout, which every pattern compiled later
// takes. goja is the only user of regexp2 in keygate.
func boundRegexps() {
	boundRegexpsOnce.Do(func() { regexp2.DefaultMatchTimeout = regexpMatchTimeout })
}
