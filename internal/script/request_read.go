package script

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/dop251/goja"

	"github.com/keygate/keygate/internal/failure"
	"github.com/keygate/keygate/internal/secret"
	"github.com/keygate/keygate/signer"
)

// Reading the request as it will leave (issue 17): its method, upstream host and scheme, the
// request target, the raw body, and the query pairs and body fields in order. Every reader
// reads x.Request, the one request the pipeline sends (ext_proc's mutations and `keygate sign`'s
// output are made from it), so what a script hashes is what leaves: there is no second
// computation of the URI or the body here.
//
// A step before the script may have written a secret into the request as it is (a static API
// key in the query, a bearer token in a header) and marked it sensitive. A reader whose result
// holds such a value in any form it travels in returns a token handle instead of text
// (readBack): usable in digest and HMAC data and in header values, like the token it is, and
// refused by every other output. Without this, reqHeaders.getURI() after `static in: query`
// handed the script the key as plain text.

// installReaders adds the readers to the article's request objects.
func (st *callState) installReaders(o requestObjects) {
	rt := st.rt
	h, p, b := o.headers, o.params, o.body
	_ = h.Set("getMethod", func(goja.FunctionCall) goja.Value { return rt.ToValue(st.x.Request.Method) })
	_ = h.Set("getScheme", func(goja.FunctionCall) goja.Value { return rt.ToValue(st.x.Request.Scheme) })
	// The upstream authority (host[:port]): what Envoy sends as :authority and HTTP/1 as Host.
	_ = h.Set("getHost", func(goja.FunctionCall) goja.Value { return rt.ToValue(st.x.Request.Authority) })
	_ = h.Set("getURL", func(goja.FunctionCall) goja.Value {
		r := st.x.Request
		return st.readBack(r.Scheme + "://" + r.Authority + r.Path)
	})

	// The header names and every value of one, for schemes that sign a class of headers
	// (ACS3's x-acs-*, BCE's x-bce-*, Huawei's x-sdk-*) rather than a fixed list.
	_ = h.Set("names", func(goja.FunctionCall) goja.Value {
		names := st.headerNames()
		out := make([]goja.Value, len(names))
		for i, n := range names {
			out[i] = st.readBack(n)
		}
		return st.array(out)
	})
	_ = h.Set("getAll", func(c goja.FunctionCall) goja.Value {
		name := st.plain(arg(c, 0), "reqHeaders.getAll")
		if isHost(name) {
			return st.array([]goja.Value{rt.ToValue(st.x.Request.Authority)})
		}
		vs := st.x.Request.Header.Values(name)
		out := make([]goja.Value, len(vs))
		for i, v := range vs {
			out[i] = st.readBack(v)
		}
		return st.array(out)
	})

	_ = p.Set("raw", func(goja.FunctionCall) goja.Value { return st.readBack(st.x.Request.RawQuery()) })
	_ = p.Set("getAll", func(c goja.FunctionCall) goja.Value {
		name := st.plain(arg(c, 0), "reqParams.getAll")
		var out []goja.Value
		for _, kv := range st.queryPairs() {
			if kv[0] == name {
				out = append(out, st.readBack(kv[1]))
			}
		}
		return st.array(out)
	})
	_ = p.Set("names", func(goja.FunctionCall) goja.Value {
		var out []goja.Value
		seen := map[string]bool{}
		for _, kv := range st.queryPairs() {
			if !seen[kv[0]] {
				seen[kv[0]] = true
				out = append(out, st.readBack(kv[0]))
			}
		}
		return st.array(out)
	})
	_ = p.Set("entries", func(goja.FunctionCall) goja.Value {
		pairs := st.queryPairs()
		st.charge(len(st.x.Request.RawQuery())) // the decoded strings the arrays hold
		out := make([]goja.Value, len(pairs))
		for i, kv := range pairs {
			out[i] = st.array([]goja.Value{st.readBack(kv[0]), st.readBack(kv[1])})
		}
		return st.array(out)
	})

	_ = b.Set("raw", func(goja.FunctionCall) goja.Value {
		body := st.x.Request.Body()
		if !utf8.Valid(body) {
			st.typeError("reqBody.raw: the body is not UTF-8 text; read it with reqBody.rawBytes()")
		}
		st.charge(2 * len(body))
		return st.readBack(string(body))
	})
	_ = b.Set("rawBytes", func(goja.FunctionCall) goja.Value {
		body := st.x.Request.Body()
		if st.sensitive(string(body)) {
			// Bytes cannot be a handle: the script may have them only if they hold no secret.
			st.violate("reqBody.rawBytes (the body carries a secret a step wrote; reqBody.raw() returns it as a handle)")
		}
		st.charge(len(body))
		return st.bytesValue(append([]byte(nil), body...))
	})
	_ = b.Set("keys", func(goja.FunctionCall) goja.Value {
		keys := st.bodyObject(false).Keys()
		out := make([]goja.Value, len(keys))
		for i, k := range keys {
			out[i] = st.readBack(k)
		}
		return st.array(out)
	})
}

// headerNames are the names of the headers that leave, lower case, sorted, each once: "host"
// (the upstream authority) and every header of the request but the framing ones the gateway
// writes from the body (Content-Length, Transfer-Encoding).
func (st *callState) headerNames() []string {
	names := []string{"host"}
	for k := range st.x.Request.Header {
		lk := strings.ToLower(k)
		switch lk {
		case "host", "content-length", "transfer-encoding":
			continue
		}
		if !slices.Contains(names, lk) {
			names = append(names, lk)
		}
	}
	slices.Sort(names)
	return names
}

// array makes a JavaScript array, charged to the memory budget.
func (st *callState) array(vs []goja.Value) goja.Value {
	st.charge(len(vs) * elemBytes)
	return st.rt.ToValue(st.rt.NewArray(toAny(vs)...))
}

func toAny(vs []goja.Value) []any {
	out := make([]any, len(vs))
	for i, v := range vs {
		out[i] = v
	}
	return out
}

// queryPairs are the query's pairs in order, names and values decoded as url.ParseQuery decodes
// them ("+" is a space; a ";" or a malformed escape fails the request with 400). reqParams.get,
// getAll, names and entries all read through it.
func (st *callState) queryPairs() [][2]string {
	raw := st.x.Request.RawQuery()
	var out [][2]string
	for _, pair := range strings.Split(raw, "&") {
		if pair == "" {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		if strings.Contains(k, ";") {
			st.throw(failure.New(failure.BadRequest, "script", "the request query: a ';' separates no pairs (RFC 3986 query, '&' only)"))
		}
		uk, err1 := url.QueryUnescape(k)
		uv, err2 := url.QueryUnescape(v)
		if err1 != nil || err2 != nil {
			st.throw(failure.New(failure.BadRequest, "script", "the request query holds a malformed percent escape"))
		}
		out = append(out, [2]string{uk, uv})
	}
	return out
}

// readBack is s for the script: text, or a token handle when s holds a value a step marked as
// carrying a secret.
func (st *callState) readBack(s string) goja.Value {
	if st.sensitive(s) {
		return st.rt.ToValue(st.handles.value(handle{role: roleToken}, secret.FromString(s)))
	}
	return st.rt.ToValue(s)
}

// sensitive reports whether v carries a secret a step wrote into the request, as it is or in a
// form the request carries it in (a query value is percent-encoded). A step marks the value
// as it wrote it, which may be already encoded (aliyun_rpc's SecurityToken, amap's key): the
// readers decode the query, so the decoded value and its other encodings are forms too. The
// forms are computed once per sensitive value and invocation.
func (st *callState) sensitive(v string) bool {
	add := func(f string) {
		if f != "" && !slices.Contains(st.forms, f) {
			st.forms = append(st.forms, f)
		}
	}
	for ; st.formsOf < len(st.x.Sensitive); st.formsOf++ {
		s := st.x.Sensitive[st.formsOf]
		if s == "" {
			continue
		}
		bases := []string{s}
		for _, decode := range [...]func(string) (string, error){url.QueryUnescape, url.PathUnescape} {
			if d, err := decode(s); err == nil && d != s {
				bases = append(bases, d)
			}
		}
		for _, b := range bases {
			add(b)
			for _, f := range [...]string{url.QueryEscape(b), signer.URIEncode(b, true), url.PathEscape(b)} {
				add(f)
			}
		}
	}
	for _, f := range st.forms {
		if strings.Contains(v, f) {
			return true
		}
	}
	return false
}

// isHost reports whether a header name is Host, which the gateway owns: reqHeaders.get('Host')
// reads the upstream authority.
func isHost(name string) bool {
	return http.CanonicalHeaderKey(strings.TrimSpace(name)) == "Host"
}
