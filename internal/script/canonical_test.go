package script

import (
	"testing"

	"github.com/dop251/goja"
)

func TestStringifyCanonical(t *testing.T) {
	for in, want := range map[string]bool{
		`{}`:                                  true,
		`{"code":0,"msg":"ok","data":"QUJD"}`: true,
		`{"a":[1,-2,{"b":null}],"t":true,"f":false,"n":null,"s":"é/x"}`: true,
		`{"n":123456789012345}`:     true,
		`{"n":1234567890123456}`:    false, // 16 digits may not survive a double
		`{"n":1.5}`:                 false,
		`{"n":1e3}`:                 false,
		`{"n":-0}`:                  false,
		`{"n":0}`:                   true,
		`{"a": 1}`:                  false, // whitespace
		`{"a":"x\"y"}`:              false, // an escape
		`{"a":"x\u0041"}`:           false,
		`{"1":true}`:                false, // array-index keys move first in JS
		`{"__proto__":1}`:           false,
		`{"a":1,"a":2}`:             false,
		`{"a":{"k":1},"b":{"k":2}}`: true, // the same key in two objects
		`{"a":{"k":1,"k":2}}`:       false,
		`{"a":[{"k":1},{"k":1}]}`:   true,
		"{\"a\":\"\xff\"}":          false,
	} {
		if got := stringifyCanonical([]byte(in)); got != want {
			t.Errorf("stringifyCanonical(%s) = %v, want %v", in, got, want)
		}
	}
}

// FuzzResponseBodyObject checks the response path's two shortcuts against goja itself: a body
// stringifyCanonical accepts is exactly what JSON.stringify(JSON.parse(body)) writes, and
// objectFromJSON builds an object that stringifies as JSON.parse's does.
func FuzzResponseBodyObject(f *testing.F) {
	for _, seed := range []string{`{}`, `{"code":0,"data":"QUJD"}`, `{"a": [1.50, "\ud800", {"b":-0}]}`,
		`{"2":1,"1":2}`, `{"__proto__":{"x":1}}`, `{"a":1,"a":2}`, `{"n":12345678901234567890}`, `{"s":"é\u2028"}`} {
		f.Add([]byte(seed))
	}
	s := compileInline(f, `function (reqHeaders, reqParams, reqBody) {}`, Options{})
	v, err := s.get()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if !isJSONObject(data) {
			return
		}
		parsed, err := v.st.jsonParse(goja.Undefined(), v.rt.ToValue(string(data)))
		if err != nil {
			return
		}
		want := v.st.stringify(parsed)
		if stringifyCanonical(data) && want != string(data) {
			t.Fatalf("stringifyCanonical accepted %q, which JSON.stringify writes back as %q", data, want)
		}
		built, err := v.st.objectFromJSON(data)
		if err != nil {
			t.Fatalf("objectFromJSON(%q): %v", data, err)
		}
		if got := v.st.stringify(built); got != want {
			t.Fatalf("objectFromJSON(%q) stringifies as %q, JSON.parse's object as %q", data, got, want)
		}
		if got := v.st.bodyJSON(parsed).String(); got != want {
			t.Fatalf("bodyJSON of %q wrote %q, JSON.stringify %q", data, got, want)
		}
	})
}

// TestStringifyBodyMatchesGoja: the Go fast path writes what goja's JSON.stringify writes, for
// the values a response function may leave in respBody. Each expression is evaluated twice so
// that getters with side effects see the same history on both sides.
func TestStringifyBodyMatchesGoja(t *testing.T) {
	s := compileInline(t, `function (reqHeaders, reqParams, reqBody) {}`, Options{})
	v, err := s.get()
	if err != nil {
		t.Fatal(err)
	}
	for _, expr := range []string{
		`{}`, `{a: "x", b: 1, c: true, d: null, e: undefined}`, `{n: -0, f: 1.5, big: 1e21, small: 1e-7, i: 123456789012345678}`,
		`{nan: NaN, inf: Infinity, ninf: -Infinity}`, `{s: "q\"b\\s\b\f\n\r\t\u0001\u001f\u007f/é€😀"}`,
		`{lone: "a\ud800b"}`, `{"\ud800": 1}`, `{fffd: "\ufffd"}`, `{nested: {a: [1, {b: "c"}]}, after: "x"}`,
		`{f: function () {}, s: Symbol("x"), u: undefined, k: 1}`, `{toJSON: function () { return {replaced: true} }}`,
		`(function () { var n = 0; return {get g() { n++; return n }, h: 1} })()`,
		`(function () { var n = 0; return {get g() { n++; return {n: n} }, h: 1} })()`,
		`{2: "two", 1: "one", b: "b", a: "a"}`, `{__proto__: null, x: 1}`, `{"__proto__": 1}`, `{date: new Date(0)}`,
		`{str: new String("boxed"), num: new Number(2)}`, `{s: "a b ", t: " "}`,
		`(function () { var o = Object.create({toJSON: function () { return {inherited: true} }}); o.a = 1; return o })()`,
	} {
		eval := func() goja.Value {
			val, err := v.rt.RunString("(" + expr + ")")
			if err != nil {
				t.Fatalf("%s: %v", expr, err)
			}
			return val
		}
		var got, want string
		if err := v.rt.Try(func() { got = v.st.bodyJSON(eval()).String() }); err != nil {
			t.Fatalf("%s: bodyJSON threw %v", expr, err)
		}
		if err := v.rt.Try(func() { want = v.st.stringify(eval()) }); err != nil {
			t.Fatalf("%s: stringify threw %v", expr, err)
		}
		if got != want {
			t.Errorf("%s: bodyJSON wrote %s, JSON.stringify %s", expr, got, want)
		}
	}
}
