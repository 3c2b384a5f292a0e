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
		body, err := v.st.jsonParse(goja.Undefined(), v.rt.ToValue(string(x.Response.Body)))
		if err != nil {
			return err
		}
		before := v.st.stringify(body)
		if _, err := v.resp(goja.Undefined(), append([]goja.Value{body}, s.commonArgs(v)...)...); err != nil {
			return err
		}
		after := v.st.stringify(body)
		if hasMarker(after) {
			v.st.violation = sinkError("the response body")
			return nil
		}
		if after != before {
			x.Response.Body = []byte(after)
		}
		return nil
	})
}

func isJSONObject(b []byte) bool {
	b = bytes.TrimLeft(b, " \t\r\n")
	return len(b) > 0 && b[0] == '{' && jsonbody.Valid(b)
}
