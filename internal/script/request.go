package script

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"

	"github.com/dop251/goja"
	"golang.org/x/net/http/httpguts"

	"github.com/keygate/keygate/internal/failure"
	"github.com/keygate/keygate/internal/jsonbody"
	"github.com/keygate/keygate/internal/secret"
	"github.com/keygate/keygate/signer"
)

// requestObjects are the article's reqHeaders, reqParams and reqBody: made once per runtime,
// frozen, and bound to the current exchange through the callState.
type requestObjects struct {
	headers, params, body *goja.Object
}

// protectedHeaders are set by the gateway and Envoy, not by scripts.
var protectedHeaders = map[string]bool{"Host": true, "Content-Length": true, "Transfer-Encoding": true, "Connection": true}

func (st *callState) newRequestObjects() requestObjects {
	rt := st.rt
	h := rt.NewObject()
	_ = h.Set("get", func(c goja.FunctionCall) goja.Value {
		name := st.plain(arg(c, 0), "reqHeaders.get")
		if isHost(name) {
			return rt.ToValue(st.x.Request.Authority)
		}
		v := st.x.Request.Header.Values(name)
		if len(v) == 0 {
			return goja.Null()
		}
		if st.sensitive(v[0]) {
			// A token this script or an earlier step put in a header comes back as the handle
			// it went in as: reading it back must not turn it into text the script can print.
			return rt.ToValue(st.handles.value(handle{role: roleToken}, secret.FromString(v[0])))
		}
		return rt.ToValue(v[0])
	})
	_ = h.Set("set", func(c goja.FunctionCall) goja.Value {
		st.unsent("reqHeaders.set")
		name := st.headerName(arg(c, 0))
		if missing(arg(c, 1)) {
			st.typeError("reqHeaders.set: the value of %s is missing", name)
		}
		// Token handles may go into a request header: that is what a token is for. Key handles
		// may not.
		val, revealed := st.tokenArg(arg(c, 1).String(), "header "+name)
		if !httpguts.ValidHeaderFieldValue(string(val)) {
			clear(val)
			if revealed { // about a token's bytes: not a bit the script may read
				st.fatal(failure.New(failure.Internal, "script", "reqHeaders.set: the value of %s holds characters a header cannot carry", name))
			}
			st.typeError("reqHeaders.set: the value of %s holds characters a header cannot carry", name)
		}
		st.x.Request.Header.Set(name, string(val))
		st.x.Request.SpellHeader(name)
		if revealed {
			st.x.MarkSensitive(string(val)) // reqHeaders.get hands it back as a handle; dry runs redact it
		}
		wipe(val, revealed)
		return goja.Undefined()
	})
	_ = h.Set("remove", func(c goja.FunctionCall) goja.Value {
		st.unsent("reqHeaders.remove")
		st.x.Request.Header.Del(st.headerName(arg(c, 0)))
		return goja.Undefined()
	})
	_ = h.Set("getURI", func(goja.FunctionCall) goja.Value { return st.readBack(st.x.Request.Path) })
	_ = h.Set("setURI", func(c goja.FunctionCall) goja.Value {
		st.unsent("reqHeaders.setURI")
		uri := st.plain(arg(c, 0), "the URI")
		if !strings.HasPrefix(uri, "/") || strings.ContainsAny(uri, " \r\n\t#") {
			st.typeError("reqHeaders.setURI: want an absolute path with an optional query, got %q", uri)
		}
		st.x.Request.Path = uri
		return goja.Undefined()
	})

	p := rt.NewObject()
	_ = p.Set("get", func(c goja.FunctionCall) goja.Value {
		name := st.plain(arg(c, 0), "reqParams.get")
		for _, kv := range st.queryPairs() {
			if kv[0] == name {
				return st.readBack(kv[1])
			}
		}
		return goja.Null()
	})
	_ = p.Set("set", func(c goja.FunctionCall) goja.Value {
		st.unsent("reqParams.set")
		name := st.plain(arg(c, 0), "query parameter name")
		st.setParam(name, st.plain(arg(c, 1), "query parameter "+name), missing(arg(c, 1)))
		return goja.Undefined()
	})
	_ = p.Set("remove", func(c goja.FunctionCall) goja.Value {
		st.unsent("reqParams.remove")
		st.setParam(st.plain(arg(c, 0), "query parameter name"), "", true)
		return goja.Undefined()
	})

	b := rt.NewObject()
	_ = b.Set("get", func(c goja.FunctionCall) goja.Value {
		name := st.plain(arg(c, 0), "reqBody.get")
		raw, plain, ok := st.bodyObject(false).RawPlain(name)
		if !ok {
			if st.absent == "" && !st.inResponse {
				st.absent = name
			}
			return goja.Undefined()
		}
		// One copy of the field: checked, and for a string without escapes handed over as its
		// text (the check's copy and fromJSON's were the same 4 KiB twice, profiled).
		s := string(raw)
		if st.sensitive(s) { // a step wrote a secret there: the field's text, as a handle
			return st.readBack(jsonbody.TextOf(raw))
		}
		if plain {
			return st.rt.ToValue(s[1 : len(s)-1])
		}
		return st.fromJSON(raw)
	})
	_ = b.Set("set", func(c goja.FunctionCall) goja.Value {
		st.unsent("reqBody.set")
		key := st.plain(arg(c, 0), "body field name")
		o := st.bodyObject(true)
		if v := arg(c, 1); goja.IsUndefined(v) {
			o.Delete(key)
		} else if s, ok := v.Export().(string); ok {
			if hasMarker(s) {
				st.violate("body field " + key)
			}
			o.SetString(key, s)
		} else {
			raw := st.stringify(v)
			if hasMarker(raw) {
				st.violate("body field " + key)
			}
			o.SetRaw(key, json.RawMessage(raw))
		}
		st.x.Request.MarkJSONChanged()
		return goja.Undefined()
	})
	_ = b.Set("remove", func(c goja.FunctionCall) goja.Value {
		st.unsent("reqBody.remove")
		st.bodyObject(true).Delete(st.plain(arg(c, 0), "body field name"))
		st.x.Request.MarkJSONChanged()
		return goja.Undefined()
	})
	_ = b.Set("buildSignStr", func(goja.FunctionCall) goja.Value {
		st.declared("reqBody.buildSignStr", appSecretName)
		marker := st.handles.named(appSecretName)
		signed := signer.SortedSignStringThen(st.bodyObject(false), marker)
		// What a dry run's explain shows, as the simple scheme does: the string without the secret.
		st.x.Explained("script", "reqBody.buildSignStr() (then the secret "+appSecretName+" appended)", func() string { return signed[:len(signed)-len(marker)] })
		return rt.ToValue(signed)
	})
	o := requestObjects{headers: h, params: p, body: b}
	st.installReaders(o)
	return o
}

// unsent refuses a change to the request in the response function: the request has left, and
// the provider-ciphertext check reads it as sent. A script that kept reqBody from the request
// function (in a closure) removed the field the provider echoed, then decrypted that
// ciphertext under the secret IV (TestRedTeamRequestChangedInTheResponseFunction).
func (st *callState) unsent(fn string) {
	if st.inResponse {
		st.typeError("%s: the request has been sent; the response function cannot change it", fn)
	}
}

func (st *callState) headerName(v goja.Value) string {
	name := st.plain(v, "a header name")
	if !httpguts.ValidHeaderFieldName(name) {
		st.typeError("reqHeaders: %q is not a header name", name)
	}
	canon := strings.TrimSpace(name)
	if protectedHeaders[http.CanonicalHeaderKey(canon)] {
		st.typeError("reqHeaders: %s is set by the gateway", canon)
	}
	return canon
}

// bodyObject is the request body as an ordered JSON object. An empty body reads as {} and, once
// written, becomes one.
func (st *callState) bodyObject(forWrite bool) *jsonbody.Object {
	r := st.x.Request
	if !r.HasBody() {
		if !forWrite {
			return jsonbody.New()
		}
		r.SetBody([]byte("{}"))
	}
	o, err := r.JSON()
	if err != nil {
		st.throw(failure.Wrap(failure.BadRequest, "script", err, "the request body"))
	}
	return o
}

// setParam replaces (or, with remove, deletes) a query parameter, keeping the other pairs and
// their order as the caller wrote them. New values are RFC 3986 encoded.
func (st *callState) setParam(name, value string, remove bool) {
	raw := st.x.Request.RawQuery()
	var out []string
	done := remove
	for _, pair := range strings.Split(raw, "&") {
		if pair == "" {
			continue
		}
		k, _, _ := strings.Cut(pair, "=")
		if uk, err := url.QueryUnescape(k); err == nil && uk == name {
			if !done {
				out = append(out, signer.URIEncode(name, true)+"="+signer.URIEncode(value, true))
				done = true
			}
			continue
		}
		out = append(out, pair)
	}
	if !done {
		out = append(out, signer.URIEncode(name, true)+"="+signer.URIEncode(value, true))
	}
	st.x.Request.SetRawQuery(strings.Join(out, "&"))
}
