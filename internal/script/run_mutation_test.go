package script

import (
	"context"
	"testing"

	"github.com/dop251/goja"
)

// TestHealthyRuntimeIsReused: a run that ended normally gives its runtime back to the pool and
// the next run takes the same one; a run its budget interrupted drops its runtime (an interrupt
// may still be pending in it), so the next run gets a new one. Rebuilding after every run would
// be no less safe, but it costs the script's top level and a deep freeze per request.
func TestHealthyRuntimeIsReused(t *testing.T) {
	step := compileInline(t, reqHead+`if (reqBody.get("bomb")) 'x'.repeat(1e9)
}`, Options{})
	runOn := func(body string) (*vm, error) {
		var got *vm
		err := step.call(context.Background(), newExchange("/p", body, nil), func(v *vm) error {
			got = v
			args := append([]goja.Value{v.objs.headers, v.objs.params, v.objs.body}, step.commonArgs(v)...)
			_, err := v.req(goja.Undefined(), args...)
			return err
		})
		return got, err
	}
	first, err := runOn(`{}`)
	if err != nil {
		t.Fatal(err)
	}
	second, err := runOn(`{}`)
	if err != nil {
		t.Fatal(err)
	}
	if second != first {
		t.Fatal("a runtime that ended normally was not reused")
	}
	if _, err := runOn(`{"bomb": true}`); err == nil {
		t.Fatal("the bomb ran")
	}
	third, err := runOn(`{}`)
	if err != nil {
		t.Fatal(err)
	}
	if third == first {
		t.Fatal("the runtime of an interrupted run was reused")
	}
}
