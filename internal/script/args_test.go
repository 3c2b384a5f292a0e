package script

import (
	"context"
	"testing"
)

// TestBinaryNeverExportsAnArray: a built-in that takes bytes looks at an array's class and
// byteLength only; exporting it to Go (to find out it is not bytes) would read, and copy outside
// the script's memory budget, every element. A getter on an element sees whether it was read.
func TestBinaryNeverExportsAnArray(t *testing.T) {
	step := compileInline(t, reqHead+`var read = [];
  var p = [1, 2, 3];
  Object.defineProperty(p, "1", {get: function () { read.push("1"); return 2 }});
  try { sha256(p) } catch (e) {}
  reqHeaders.set("X-Read", read.filter(function (k) { return /^[0-9]+$/.test(k) }).join(","));
}`, Options{})
	x := newExchange("/pay", `{}`, &fakeTokens{})
	if err := step.SignRequest(context.Background(), x); err != nil {
		t.Fatal(err)
	}
	if got := x.Request.Header.Get("X-Read"); got != "" {
		t.Fatalf("array elements read by a bytes argument check: %q", got)
	}
}
