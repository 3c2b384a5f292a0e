package jsonbody

import "testing"

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
