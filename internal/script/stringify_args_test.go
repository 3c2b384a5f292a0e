package script

import (
	"context"
	"net/url"
	"testing"
)

// TestStringifyArgumentsAsECMAScript: the guarded JSON.stringify takes its replacer (a function
// or an allow list of keys) and its space (a number of spaces up to 10, or a string) as the
// language defines them.
func TestStringifyArgumentsAsECMAScript(t *testing.T) {
	for expr, want := range map[string]string{
		`JSON.stringify({a: 1, b: [1, 2]}, ["a"])`:                                           `{"a":1}`,
		`JSON.stringify({a: 1, b: {a: 2, c: 3}}, ["b", "a"])`:                                `{"a":1,"b":{"a":2}}`,
		`JSON.stringify({a: 1}, null)`:                                                       `{"a":1}`,
		`JSON.stringify({a: [1]}, null, 2)`:                                                  "{\n  \"a\": [\n    1\n  ]\n}",
		`JSON.stringify({a: 1}, null, 0)`:                                                    `{"a":1}`,
		`JSON.stringify({a: 1}, null, -3)`:                                                   `{"a":1}`,
		`JSON.stringify({a: 1}, null, 20)`:                                                   "{\n          \"a\": 1\n}",
		`JSON.stringify({a: 1}, null, "--")`:                                                 "{\n--\"a\": 1\n}",
		`JSON.stringify({a: 1, b: 2}, function (k, v) { return k === "b" ? undefined : v })`: `{"a":1}`,
	} {
		step := compileInline(t, reqHead+`reqHeaders.set("X", encodeURIComponent(`+expr+`));
}`, Options{})
		x := newExchange("/p", `{}`, nil)
		if err := step.SignRequest(context.Background(), x); err != nil {
			t.Fatalf("%s: %v", expr, err)
		}
		if got, _ := url.PathUnescape(x.Request.Header.Get("X")); got != want {
			t.Errorf("%s = %q, want %q", expr, got, want)
		}
	}
}
