package jsonbody

import (
	"bytes"
	"encoding/json"
	"slices"
	"testing"
)

// FuzzParseRoundTrip: whatever Parse accepts, Marshal writes back as JSON that parses to the
// same keys in the same order and marshals to the same bytes (a fixed point).
func FuzzParseRoundTrip(f *testing.F) {
	for _, seed := range []string{
		`{}`, `{"a":1,"b":"x"}`, `{"b":2,"a":1,"b":3}`, `{"data":"{\"amount\":7}","timestamp":"1700000000"}`,
		`{"n":1.50,"e":1e3,"big":12345678901234567890}`, `{"u":"\u00e9\ud83d\ude00","esc":"a\"b\\c"}`,
		`{"nested":{"x":[1,{"y":null}]},"t":true,"f":false}`, ` { "sp" : "x" } `, `[1,2]`, `"s"`, `{"a":}`, `{"a":1}x`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		o, err := Parse(data)
		if err != nil {
			return
		}
		out := o.Marshal()
		again, err := Parse(out)
		if err != nil {
			t.Fatalf("Marshal wrote what Parse refuses: %q -> %q: %v", data, out, err)
		}
		if !slices.Equal(o.Keys(), again.Keys()) {
			t.Fatalf("keys changed across a round trip: %q vs %q", o.Keys(), again.Keys())
		}
		if !bytes.Equal(again.Marshal(), out) {
			t.Fatalf("Marshal is not a fixed point: %q then %q", out, again.Marshal())
		}
		for _, k := range o.Keys() {
			text, _ := o.Text(k)
			o.SetString(k, text) // the verbatim shortcut must write what json.Marshal writes
			got, _ := o.Raw(k)
			if want, _ := json.Marshal(text); !bytes.Equal(got, want) {
				t.Fatalf("SetString(%q) wrote %s, json.Marshal %s", text, got, want)
			}
		}
	})
}
