package signer

import (
	"net/http"
	"testing"
)

// TestHasBodyWithoutSerializing: HasBody says what len(Body()) > 0 says, before and after a
// step changes the parsed object, and asking it never serializes a changed object.
func TestHasBodyWithoutSerializing(t *testing.T) {
	for _, c := range []struct {
		name string
		body string
	}{{"none", ""}, {"object", `{"a":"1"}`}, {"empty object", `{}`}, {"not JSON", `a=1`}} {
		r := NewRequest("POST", "https", "h", "/", http.Header{}, []byte(c.body))
		if got, want := r.HasBody(), len(r.Body()) > 0; got != want {
			t.Errorf("%s: HasBody %v, Body %q", c.name, got, r.Body())
		}
		o, err := r.JSON()
		if err != nil {
			continue
		}
		o.SetString("b", "2")
		r.MarkJSONChanged()
		if !r.HasBody() {
			t.Errorf("%s: a changed object has no body", c.name)
		}
		if !r.dirty {
			t.Errorf("%s: HasBody serialized the changed object", c.name)
		}
		if len(r.Body()) == 0 {
			t.Errorf("%s: the changed object serialized to nothing", c.name)
		}
	}
}
