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
	})
}
