package script

import (
	"bytes"
	"context"

	"github.com/dop251/goja"

	"github.com/keygate/keygate/internal/jsonbody"
	"github.com/keygate/keygate/signer"
)

// ProcessResponse runs the response function (respBody, AppKey, AesKey, AesIV, PrefixUrl,
// TokenUrl) on a JSON object body. respBody is a plain object; if the function changes it, the
// body becomes its JSON (key order kept as the object holds it); if not, the bytes are left
// exactly as the provider sent them. A body that is not a JSON object is passed through without
// calling the function.
func (s *Step) ProcessResponse(ctx context.Context, x *signer.Exchange) error {
	if s.respFn == "" || x.Response == nil || !isJSONObject(x.Response.Body) {
		return nil
	}
	return s.call(ctx, x, func(v *vm) error {
		v.st.inResponse = true
		orig := x.Response.Body
		body, err := v.st.objectFromJSON(orig)
		if err != nil {
			return err
		}
		// The body is unchanged when the object stringifies as it did before the function ran.
		// For a canonical body (the usual, compact one) that is the body itself: no stringify.
		before, canonical := jsonText{}, stringifyCanonical(orig)
		if !canonical {
			before = v.st.bodyJSON(body)
		}
		if _, err := v.resp(goja.Undefined(), append([]goja.Value{body}, s.commonArgs(v)...)...); err != nil {
			return err
		}
		after := v.st.bodyJSON(body)
		if after.hasMarker() {
			v.st.violation = sinkError("the response body")
			return nil
		}
		if canonical && !after.equal(orig) || !canonical && !after.same(before) {
			x.Response.Body = after.bytes()
		}
		return nil
	})
}

// objectFromJSON is JSON.parse(b) for a JSON object b, built from keygate's own parse: goja's
// JSON.parse reads through encoding/json's token stream and cost a fifth of the response
// function. Each member is defined as JSON.parse defines it (writable, enumerable,
// configurable; never through the __proto__ setter), in order. A body jsonbody refuses
// (duplicate keys, invalid UTF-8) takes JSON.parse itself and its rules.
func (st *callState) objectFromJSON(b []byte) (goja.Value, error) {
	o, err := jsonbody.Parse(b)
	if err != nil {
		return st.jsonParse(goja.Undefined(), st.rt.ToValue(string(b)))
	}
	obj := st.rt.NewObject()
	for _, k := range o.Keys() {
		raw, _ := o.Raw(k)
		if err := obj.DefineDataProperty(k, st.fromJSON(raw), goja.FLAG_TRUE, goja.FLAG_TRUE, goja.FLAG_TRUE); err != nil {
			return nil, err
		}
	}
	return obj, nil
}

func isJSONObject(b []byte) bool {
	b = bytes.TrimLeft(b, " \t\r\n")
	return len(b) > 0 && b[0] == '{' && jsonbody.Valid(b)
}
