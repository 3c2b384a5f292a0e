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
