package jsonbody

import (
	"strings"
	"testing"
)

// A 4 KiB body like the load driver's: a few short fields and one long data field.
var benchBody = []byte(`{"merchant":"m-42","amount":100,"currency":"CNY","timestamp":"1700000000","nested":{"a":[1,2,3],"b":"x"},"data":"` +
	strings.Repeat("abcdefghij", 400) + `"}`)

func BenchmarkParseMarshal(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		o, err := Parse(benchBody)
		if err != nil {
			b.Fatal(err)
		}
		o.SetString("sign", "ABCDEF")
		_ = o.AppendTo(make([]byte, 0, len(benchBody)+64))
	}
}
