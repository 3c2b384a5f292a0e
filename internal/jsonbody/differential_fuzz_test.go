package jsonbody

import (
	"encoding/json"
	"reflect"
	"testing"
	"unicode/utf8"
)

// FuzzParseMatchesEncodingJSON checks the hand-written splitter against encoding/json: for any
// valid UTF-8 JSON object without duplicate keys, Parse accepts it and every value decodes to
// what encoding/json decodes; Parse refuses exactly what encoding/json refuses.
func FuzzParseMatchesEncodingJSON(f *testing.F) {
	for _, seed := range []string{`{}`, `{"a":1}`, ` {"a" : [1, {"b":"}"}] , "c":"\""} `, `{"a":"\\"}`,
		`{"a":{}}`, `{"":null}`, `[1]`, `{"a":1,}`, `{"a"`, `{"a\u0000b":true}`} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var want map[string]any
		wantErr := json.Unmarshal(data, &want)
		o, err := Parse(data)
		if wantErr != nil || !utf8.Valid(data) {
			if err == nil {
				t.Fatalf("Parse accepted %q, which encoding/json refuses (%v) or is not UTF-8", data, wantErr)
			}
			return
		}
		if err != nil {
			if len(want) < countKeys(data) { // duplicate keys: refusing them is intended
				return
			}
			t.Fatalf("Parse refused %q, which encoding/json accepts: %v", data, err)
		}
		if o.Len() != len(want) {
			t.Fatalf("Parse found %d keys in %q, encoding/json %d", o.Len(), data, len(want))
		}
		for _, k := range o.Keys() {
			raw, _ := o.Raw(k)
			var got any
			if err := json.Unmarshal(raw, &got); err != nil || !reflect.DeepEqual(got, want[k]) {
				t.Fatalf("value of %q: Parse cut %q from %q", k, raw, data)
			}
		}
	})
}

// countKeys counts top-level keys as a token stream sees them, duplicates included.
func countKeys(data []byte) int {
	n := 0
	_ = split(data, func(string, []byte) error { n++; return nil })
	return n
}

// FuzzValidMatchesEncodingJSON: Valid accepts exactly what encoding/json's Valid accepts.
func FuzzValidMatchesEncodingJSON(f *testing.F) {
	for _, seed := range []string{`{}`, `[]`, `0`, `-0.5e+7`, `01`, `1.`, `.5`, `"\u00zz"`, `"a\/b"`, "\"\x01\"",
		`[1,]`, `{"a":1 "b":2}`, `tru`, `nulls`, ` [ {"a" : [ ] } ] `, "\"\xff\"", `{"a":{"b":[[[]]]}}`} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if got, want := Valid(data), json.Valid(data); got != want {
			t.Fatalf("Valid(%q) = %v, encoding/json says %v", data, got, want)
		}
	})
}
