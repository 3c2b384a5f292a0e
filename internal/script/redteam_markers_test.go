package script

import (
	"bytes"
	"testing"
)

// TestRedTeamMarkerHiddenInUTF16: goja holds strings as UTF-16, Go as UTF-8, and the marker
// search now looks for the bytes of U+E000/U+E001 (indexMarkerStart). A handle reshaped by
// string tricks (lone surrogates around or inside it, fromCharCode, normalize, case, JSON,
// reversal) and sent to every kind of output either fails the request or leaves without any
// secret: a lone surrogate becomes U+FFFD in Go, never a byte sequence that hides a marker
// character, and a marker character left stray is refused.
func TestRedTeamMarkerHiddenInUTF16(t *testing.T) {
	shapes := []string{
		`AesKey.split("").join("\uD800")`,
		`AesKey.replace("\uE000", "\uD800\uE000")`,
		`AesKey.replace("kg:", "kg:\uDC00")`,
		`AesKey + "\uDBFF"`,
		`"\uDFFF" + AesKey.slice(0, 1) + "\uD800" + AesKey.slice(1)`,
		`AesKey.normalize("NFKD")`,
		`String.fromCharCode.apply(null, AesKey.split("").map(function (c) { return c.charCodeAt(0) }))`,
		`AesKey.toUpperCase()`,
		`JSON.stringify(AesKey)`,
		`AesKey.split("").reverse().join("")`,
		`String.fromCodePoint(0xE000) + AesKey.slice(1)`,
	}
	sinks := []string{
		`reqHeaders.set("X-Leak", v)`,
		`reqBody.set("leak", v)`,
		`reqParams.set("leak", v)`,
		`throw new Error(v)`,
		`reqHeaders.set("X-Leak", reqBody.raw() + v)`,
	}
	for _, shape := range shapes {
		for _, sink := range sinks {
			outputs, reqErr, _ := hostileRun(t, reqHead+`var v = `+shape+`;
  `+sink+`;
}`, nil)
			checkNoSecret(t, outputs)
			if reqErr != nil {
				continue // refused: fine
			}
			for i, o := range outputs[:3] { // path, headers, body as they leave
				if bytes.Contains(o, []byte(string(markOpen))) || bytes.Contains(o, []byte(string(markClose))) {
					t.Errorf("%s into %s: output %d left holding a marker character", shape, sink, i)
				}
			}
		}
	}
}
