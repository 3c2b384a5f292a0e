package jsonbody

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"unicode/utf8"
)

// FuzzParseMatchesEncodingJSON checks the hand-written splitter against encoding/json.
//
// The oracle's rule: Parse accepts a body exactly when it is valid UTF-8, json.Valid accepts it,
// its top-level value is an object, and no key appears twice (Parse refuses duplicates on
// purpose; encoding/json keeps the last). For an accepted body, every value Parse cuts out decodes
// to what encoding/json decodes for that key. Decoding into a map alone is not the oracle:
// encoding/json unmarshals the text `null` into a map without error (leaving it nil), and refuses
// numbers that overflow float64 (`1e400`) that are valid JSON; so syntax comes from json.Valid and
// values are decoded with UseNumber.
func FuzzParseMatchesEncodingJSON(f *testing.F) {
	for _, seed := range []string{`{}`, `{"a":1}`, ` {"a" : [1, {"b":"}"}] , "c":"\""} `, `{"a":"\\"}`,
		`{"a":{}}`, `{"":null}`, `[1]`, `{"a":1,}`, `{"a"`, `{"a\u0000b":true}`, `null`, ` null `, `true`,
		`"s"`, `0`, `{"n":1e400}`, `{"a":1,"a":2}`} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		o, err := Parse(data)
		if !utf8.Valid(data) || !json.Valid(data) || !isObject(data) {
			if err == nil {
				t.Fatalf("Parse accepted %q, which is not a valid UTF-8 JSON object", data)
			}
			return
		}
		want, decErr := decodeNumbers(data)
		if decErr != nil {
			t.Fatalf("encoding/json could not decode %q, which json.Valid accepts: %v", data, decErr)
		}
		wantObj := want.(map[string]any)
		if err != nil {
			if len(wantObj) < countKeys(data) { // duplicate keys: refusing them is intended
				return
			}
			t.Fatalf("Parse refused %q, a valid JSON object: %v", data, err)
		}
		if o.Len() != len(wantObj) {
			t.Fatalf("Parse found %d keys in %q, encoding/json %d", o.Len(), data, len(wantObj))
		}
		for i, k := range o.Keys() {
			raw, _ := o.Raw(k)
			got, err := decodeNumbers(raw)
			if err != nil || !reflect.DeepEqual(got, wantObj[k]) {
				t.Fatalf("value of %q: Parse cut %q from %q", k, raw, data)
			}
			// A parsed value is marked plain exactly when PlainString would say so (the first
			// 64 members), and then its text is the bytes between its quotes.
			_, _, plain := o.Member(i)
			inner, ok := PlainString(raw)
			if i < 64 && plain != ok || plain && (!ok || !bytes.Equal(inner, raw[1:len(raw)-1])) {
				t.Fatalf("value of %q in %q: Member plain = %v, PlainString = %v", k, data, plain, ok)
			}
		}
	})
}

// isObject reports whether valid JSON text has an object at its top level.
func isObject(data []byte) bool {
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	return len(trimmed) > 0 && trimmed[0] == '{'
}

// decodeNumbers decodes JSON text as encoding/json does, keeping numbers as their text so that
// valid numbers beyond float64 decode too.
func decodeNumbers(data []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	return v, nil
}

// countKeys counts top-level keys as a token stream sees them, duplicates included.
func countKeys(data []byte) int {
	n := 0
	_ = split(data, func(_, _ []byte, _ bool) error { n++; return nil })
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
