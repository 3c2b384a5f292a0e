package script

import (
	"context"
	"strings"
	"testing"

	"github.com/keygate/keygate/internal/config"
)

// TestDecodersAreChargedForWhatTheyReturn: a decoder's output (bytes, or text at two bytes a
// character) counts against the script's
// memory budget when it is made, so one call that would return more than the budget fails the
// request there (not later, when the watchdog samples the heap).
func TestDecodersAreChargedForWhatTheyReturn(t *testing.T) {
	field := strings.Repeat("QUFB", 400_000) // 1.6 MB of base64 (1.2 MB decoded), 1.6 MB of text
	for _, tc := range []struct{ call, want string }{
		{`var s = reqBody.get("d"); reqHeaders.set("X-Len", String(s.length))`, ""},
		{`var s = base64_decode(reqBody.get("d")); reqHeaders.set("X-Len", String(s.byteLength))`, "went over its memory budget of 1048576 bytes"},
		{`var s = url_decode(reqBody.get("d").slice(0, 800000)); reqHeaders.set("X-Len", String(s.length))`, "went over its memory budget of 1048576 bytes"},
	} {
		step, err := Compile(config.Script{Inline: reqHead + tc.call + "\n}", MemoryBytes: 1 << 20}, testBuild(t), Options{})
		if err != nil {
			t.Fatal(err)
		}
		err = step.SignRequest(context.Background(), newExchange("/p", `{"d":"`+field+`"}`, nil))
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.call, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: err %v, want %q", tc.call, err, tc.want)
		}
	}
}

// TestRequestReadersAreCharged: what the request readers return (the raw body as text, arrays
// of query values) counts against the memory budget when it is made.
func TestRequestReadersAreCharged(t *testing.T) {
	query := strings.Repeat("a=1&", 20_000) // 20,000 values of a: an array charged 320,000 bytes
	body := `{"d":"` + strings.Repeat("x", 150_000) + `"}`
	for _, tc := range []struct{ call, want string }{
		{`reqHeaders.set("X", "1")`, ""},
		{`reqHeaders.set("X", String(reqParams.getAll("a").length))`, "went over its memory budget of 262144 bytes"},
		{`reqHeaders.set("X", String(reqBody.raw().length))`, "went over its memory budget of 262144 bytes"},
	} {
		step, err := Compile(config.Script{Inline: reqHead + tc.call + "\n}", MemoryBytes: 1 << 18}, testBuild(t), Options{})
		if err != nil {
			t.Fatal(err)
		}
		err = step.SignRequest(context.Background(), newExchange("/p?"+query, body, nil))
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.call, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: err %v, want %q", tc.call, err, tc.want)
		}
	}
}

// TestStringifyIsChargedWithItsIndentation: JSON.stringify's output is charged before it is
// made, indentation included, so a space argument cannot multiply the output past the budget.
func TestStringifyIsChargedWithItsIndentation(t *testing.T) {
	for _, tc := range []struct{ call, want string }{
		{`var a = new Array(30000).fill(0); reqHeaders.set("X", String(JSON.stringify(a).length))`, ""},
		{`var a = new Array(30000).fill(0); reqHeaders.set("X", String(JSON.stringify(a, null, 10).length))`, "memory budget of 1048576 bytes"},
		{`var a = new Array(30000).fill(0); reqHeaders.set("X", String(JSON.stringify(a, null, "          ").length))`, "memory budget of 1048576 bytes"},
	} {
		step, err := Compile(config.Script{Inline: reqHead + tc.call + "\n}", MemoryBytes: 1 << 20}, testBuild(t), Options{})
		if err != nil {
			t.Fatal(err)
		}
		err = step.SignRequest(context.Background(), newExchange("/p", `{}`, nil))
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.call, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: err %v, want %q", tc.call, err, tc.want)
		}
	}
}
