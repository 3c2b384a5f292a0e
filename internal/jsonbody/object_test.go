package jsonbody

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestParseKeepsOrderAndText(t *testing.T) {
	o, err := Parse([]byte(`{"z": 1.50, "a": "x\u0041", "n": {"b": [1, 2]}, "nul": null}`))
	if err != nil {
		t.Fatal(err)
	}
	o.SetString("m", "new")
	o.Delete("nul")
	if got, want := string(o.Marshal()), `{"z":1.50,"a":"x\u0041","n":{"b":[1,2]},"m":"new"}`; got != want {
		t.Errorf("Marshal = %s, want %s", got, want)
	}
	for key, want := range map[string]string{"z": "1.50", "a": "xA", "n": `{"b":[1,2]}`} {
		if got, _ := o.Text(key); got != want {
			t.Errorf("Text(%q) = %q, want %q", key, got, want)
		}
	}
}

func TestParseRejects(t *testing.T) {
	for name, in := range map[string]string{
		"array":     `[1]`,
		"duplicate": `{"a":1,"a":2}`,
		"trailing":  `{"a":1} {}`,
		"broken":    `{"a":`,
		"empty":     ``,
		"not utf-8": "{\"k\x8a\":1}",
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := Parse([]byte(in)); err == nil {
				t.Errorf("Parse(%q) succeeded, want an error", in)
			}
		})
	}
}

// TestValidAgreesWithEncodingJSON covers the grammar's corners by name; the fuzz target
// FuzzValidMatchesEncodingJSON covers the rest.
func TestValidAgreesWithEncodingJSON(t *testing.T) {
	for _, in := range []string{
		``, ` `, `{}`, `[]`, `{"a":[1,{"b":null}],"c":"d"}`, `0`, `-0`, `-`, `01`, `1.`, `1.5`, `.5`, `1e`, `1e+`,
		`1E-9`, `+1`, `true`, `tru`, `truex`, `nul`, `false `, `"a`, `"\`, `"\u12"`, `"\u12g4"`, `"\uABCD"`,
		`"\x"`, "\"\t\"", "\"\x7f\"", "\"\xff\"", `[1,]`, `[,1]`, `{"a":1,}`, `{"a" 1}`, `{1:2}`, `{"a":1}}`,
		`[1 2]`, `{} {}`, strings.Repeat("[", maxDepth) + strings.Repeat("]", maxDepth),
		strings.Repeat("[", maxDepth+1) + strings.Repeat("]", maxDepth+1),
	} {
		if got, want := Valid([]byte(in)), json.Valid([]byte(in)); got != want {
			t.Errorf("Valid(%.40q) = %v, encoding/json says %v", in, got, want)
		}
	}
}

// TestParseDepthLimit: the top-level object counts towards encoding/json's nesting limit.
func TestParseDepthLimit(t *testing.T) {
	ok := `{"a":` + strings.Repeat("[", maxDepth-1) + strings.Repeat("]", maxDepth-1) + `}`
	if _, err := Parse([]byte(ok)); err != nil {
		t.Errorf("depth %d refused: %v", maxDepth, err)
	}
	deep := `{"a":` + strings.Repeat("[", maxDepth) + strings.Repeat("]", maxDepth) + `}`
	if _, err := Parse([]byte(deep)); err == nil || json.Valid([]byte(deep)) {
		t.Errorf("depth %d accepted (%v) or encoding/json accepts it", maxDepth+1, err)
	}
}

// TestParseErrorsSayWhere: a syntax error names the problem and its offset.
func TestParseErrorsSayWhere(t *testing.T) {
	for in, want := range map[string]string{
		`{"a":tru}`:     `body is not valid JSON: invalid character '}' in literal true (expecting 'e') (offset 8)`,
		`{"a":1,}`:      `body is not valid JSON: invalid character '}' looking for beginning of object key string (offset 7)`,
		`{"a":"x`:       `body is not valid JSON: unexpected end of JSON input (offset 7)`,
		`[1]`:           `body is not a JSON object`,
		`{"a":1} x`:     `body is not valid JSON: invalid character 'x' after top-level value (offset 8)`,
		`{"a":1,"a":2}`: `body has the key "a" twice`,
	} {
		if _, err := Parse([]byte(in)); err == nil || err.Error() != want {
			t.Errorf("Parse(%s) = %v, want %s", in, err, want)
		}
	}
}

// TestNeedsNoUnescapingEveryByte: each byte value at each position of a word, against the
// definition (no backslash, quote or control character).
func TestNeedsNoUnescapingEveryByte(t *testing.T) {
	for c := range 256 {
		want := c >= 0x20 && c != '"' && c != '\\'
		for pos := range 17 {
			b := []byte(strings.Repeat("a", 17))
			b[pos] = byte(c)
			if got := needsNoUnescaping(b); got != want {
				t.Fatalf("byte %#x at %d: got %v, want %v", c, pos, got, want)
			}
		}
	}
}

// TestSetStringWritesWhatMarshalWrites: the verbatim shortcut agrees with json.Marshal on
// every byte value and the characters it escapes beyond them.
func TestSetStringWritesWhatMarshalWrites(t *testing.T) {
	inputs := []string{"", "QUJD+/=", "é€😀", "a<b", "a>b", "a&b", "\u2028", "\u2029", "x\u2028y", "\xff", "a\"b", `a\b`, "tab\t"}
	for c := range 256 {
		inputs = append(inputs, "ab"+string(rune(c))+"cd", "ab"+string([]byte{byte(c)})+"cd")
	}
	for _, in := range inputs {
		o := New()
		o.SetString("k", in)
		got, _ := o.Raw("k")
		want, _ := json.Marshal(in)
		if string(got) != string(want) {
			t.Errorf("SetString(%q) wrote %s, json.Marshal %s", in, got, want)
		}
	}
}

// TestMarshalsVerbatimInEveryWordPosition: the word-at-a-time check agrees with json.Marshal
// for every byte value, and for characters of two to four bytes, at every position of the
// first three words and the tail, so a word that skips a byte it should have looked at shows.
func TestMarshalsVerbatimInEveryWordPosition(t *testing.T) {
	var inserts []string
	for c := range 256 {
		inserts = append(inserts, string([]byte{byte(c)}))
	}
	inserts = append(inserts, "é", "€", "😀", "\u2028", "\u2029", "\u2027")
	for _, ins := range inserts {
		for pos := 0; pos <= 27; pos++ {
			s := strings.Repeat("QUJD", 7)[:pos] + ins + strings.Repeat("+/9z", 7)[pos:]
			want, _ := json.Marshal(s)
			if got := marshalsVerbatim(s); got != (string(want) == `"`+s+`"`) {
				t.Fatalf("marshalsVerbatim(%q) = %v; json.Marshal writes %s", s, got, want)
			}
		}
	}
}
