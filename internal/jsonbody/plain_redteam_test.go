package jsonbody

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// TestRedTeamPlainFlagNeverLies: a member marked plain has its text between the quotes copied
// raw (aes encrypts it, signing strings read it). Objects of up to 80 members (past the 64
// tracked bits) are parsed from strings with and without escapes, numbers and nested values,
// then members are replaced by strings full of quotes, backslashes and control characters,
// by raw values and by plain strings, and deleted around position 64. After every change a
// member Member calls plain must be a JSON string that needs no unescaping, and the body must
// decode (encoding/json) to the model's values.
func TestRedTeamPlainFlagNeverLies(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	parsedVals := []string{`"plain"`, `"a\"b"`, `"back\\slash"`, `"\u0041"`, `12`, `{"x":"y"}`, `["\""]`, `""`, `null`}
	setStrings := []string{"ok", `quo"te`, `back\slash`, "ctl\x01", "line\nbreak", "<&>", "é", "\u2028", `"},"injected":"`}
	for round := range 20 {
		n := rng.IntN(81)
		model := map[string]any{}
		var src strings.Builder
		src.WriteByte('{')
		for i := range n {
			if i > 0 {
				src.WriteByte(',')
			}
			v := parsedVals[rng.IntN(len(parsedVals))]
			fmt.Fprintf(&src, `"k%d":%s`, i, v)
			var dv any
			_ = json.Unmarshal([]byte(v), &dv)
			model[fmt.Sprintf("k%d", i)] = dv
		}
		src.WriteByte('}')
		o, err := Parse([]byte(src.String()))
		if err != nil {
			t.Fatalf("Parse %s: %v", src.String(), err)
		}
		check := func(step string) {
			t.Helper()
			for i := range o.Len() {
				k, raw, plain := o.Member(i)
				if _, ok := PlainString(raw); plain && !ok {
					t.Fatalf("round %d %s: member %d (%q) is marked plain but is %s", round, step, i, k, raw)
				}
			}
			var got map[string]any
			if err := json.Unmarshal(o.Marshal(), &got); err != nil {
				t.Fatalf("round %d %s: body %s is not JSON: %v", round, step, o.Marshal(), err)
			}
			if a, b := fmt.Sprint(got), fmt.Sprint(model); a != b || len(got) != len(model) {
				t.Fatalf("round %d %s: body decodes to %s, model %s", round, step, a, b)
			}
		}
		check("parse")
		for i := range 120 {
			k := fmt.Sprintf("k%d", rng.IntN(n+4))
			switch rng.IntN(4) {
			case 0:
				o.Delete(k)
				delete(model, k)
			case 1:
				s := setStrings[rng.IntN(len(setStrings))]
				o.SetString(k, s)
				model[k] = s
			case 2:
				s := setStrings[rng.IntN(len(setStrings))]
				raw, _ := json.Marshal(s)
				o.SetRaw(k, raw)
				model[k] = s
			default:
				o.SetPlainString(k, json.RawMessage(`"QUJD"`))
				model[k] = "QUJD"
			}
			check(fmt.Sprintf("step %d (%s)", i, k))
		}
	}
}
