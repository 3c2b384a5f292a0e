package script

import (
	"bytes"
	"context"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/dop251/goja"

	"github.com/keygate/keygate/internal/failure"
	"github.com/keygate/keygate/internal/secret"
	"github.com/keygate/keygate/signer"
)

// maxTokenResponse bounds what http_post_* reads from the token endpoint.
const maxTokenResponse = 1 << 20

// installHost defines the built-ins that reach outside the runtime: the token endpoint, the
// token store, secret handles by name, and logging.
func (st *callState) installHost(g *goja.Object) {
	_ = g.Set("http_post_json", func(c goja.FunctionCall) goja.Value {
		return st.httpPost(c, "http_post_json", "application/json", func(v goja.Value) string {
			if s, ok := v.Export().(string); ok {
				return s
			}
			return st.stringify(v)
		})
	})
	_ = g.Set("http_post_form", func(c goja.FunctionCall) goja.Value {
		return st.httpPost(c, "http_post_form", "application/x-www-form-urlencoded", func(v goja.Value) string {
			return st.formEncode(goja.FunctionCall{Arguments: []goja.Value{v}}).String()
		})
	})
	_ = g.Set("token_load", func(goja.FunctionCall) goja.Value {
		if st.x.Tokens == nil {
			return goja.Null()
		}
		var tok secret.Value
		var ok bool
		start := time.Now()
		st.outside(func() { tok, ok = st.x.Tokens.Load(st.ctx) })
		st.x.Timing.AddSince(signer.StageToken, start)
		if !ok || tok.IsZero() {
			return goja.Null()
		}
		return st.rt.ToValue(st.handles.value(handle{role: roleToken}, tok))
	})
	_ = g.Set("token_save", func(c goja.FunctionCall) goja.Value {
		if st.x.Tokens == nil {
			st.throw(failure.New(failure.Internal, "script", "token_save: the provider has no token source"))
		}
		if missing(arg(c, 0)) {
			st.typeError("token_save: the token is missing")
		}
		tok, _ := st.tokenArg(arg(c, 0).String(), "token_save")
		expiry := st.expiry(arg(c, 1))
		var err error
		st.outside(func() { err = st.x.Tokens.Save(st.ctx, secret.New(tok), expiry) })
		if err != nil {
			st.throw(failure.Wrap(failure.Unavailable, "token", err, "token_save"))
		}
		return goja.Undefined()
	})
	_ = g.Set("token_delete", func(goja.FunctionCall) goja.Value {
		if st.x.Tokens != nil {
			st.outside(func() { st.x.Tokens.Invalidate(st.ctx) })
		}
		return goja.Undefined()
	})
	_ = g.Set("secret", func(c goja.FunctionCall) goja.Value {
		name := st.plain(arg(c, 0), "secret")
		st.declared("secret", name)
		return st.rt.ToValue(st.handles.named(name))
	})
	logFn := func(c goja.FunctionCall) goja.Value {
		parts := make([]string, len(c.Arguments))
		for i, a := range c.Arguments {
			parts[i] = st.plain(a, "log")
		}
		st.step.opts.Logger.DebugContext(st.ctx, "script log", "provider", st.step.provider, "msg", strings.Join(parts, " "))
		return goja.Undefined()
	}
	console := st.rt.NewObject()
	_ = console.Set("log", logFn)
	_ = g.Set("console", console)
	_ = g.Set("log", logFn)
}

// expiry turns token_save's expireTime into an instant: a number (or numeric string) above 1e12
// is epoch milliseconds, above 1e9 epoch seconds, otherwise seconds from now.
func (st *callState) expiry(v goja.Value) time.Time {
	if missing(v) {
		st.typeError("token_save: expireTime is missing")
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(st.plain(v, "token_save")), 64)
	if err != nil || math.IsNaN(f) || f <= 0 || math.IsInf(f, 0) {
		st.typeError("token_save: expireTime must be a positive number")
	}
	switch {
	case f > 1e12:
		return time.UnixMilli(int64(f))
	case f > 1e9:
		return time.Unix(int64(f), 0)
	}
	return st.now().Add(time.Duration(f * float64(time.Second)))
}

// httpPost posts to the provider's token endpoint: (url, body, headers). The URL must have the
// token URL's scheme and host; the time the call takes is not charged to the script's budget,
// it has its own timeout.
func (st *callState) httpPost(c goja.FunctionCall, fn, contentType string, encode func(goja.Value) string) goja.Value {
	target := st.plain(arg(c, 0), fn+" url")
	u, err := url.Parse(target)
	if err != nil || st.step.tokenURL == nil || u.Scheme != st.step.tokenURL.Scheme || u.Host != st.step.tokenURL.Host {
		st.throw(failure.New(failure.Internal, "script", "%s: only the provider's token endpoint may be called", fn))
	}
	var body string
	if v := arg(c, 1); !missing(v) {
		body = encode(v)
		if hasMarker(body) {
			st.violate(fn + " body")
		}
	}
	ctx, cancel := context.WithTimeout(st.ctx, st.step.opts.TokenTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), strings.NewReader(body))
	if err != nil {
		st.throw(failure.New(failure.Internal, "script", "%s: bad request", fn))
	}
	req.Header.Set("Content-Type", contentType)
	if h, ok := arg(c, 2).(*goja.Object); ok {
		for _, k := range h.Keys() {
			if hasMarker(k) {
				st.violate(fn + " header name")
			}
			req.Header.Set(k, st.plain(h.Get(k), fn+" header "+k))
		}
	}
	var resp *http.Response
	st.outside(func() { resp, err = st.step.client.Do(req) })
	if err != nil {
		st.throw(failure.New(failure.TransportKind(ctx, err), "token", "%s %s: %v", fn, u.Host, failure.WithoutURL(err)))
	}
	defer func() { _ = resp.Body.Close() }()
	var buf bytes.Buffer
	if _, err := io.Copy(&buf, io.LimitReader(resp.Body, maxTokenResponse)); err != nil {
		st.throw(failure.New(failure.Unavailable, "token", "%s %s: reading the answer failed", fn, u.Host))
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		st.throw(failure.New(failure.BadGateway, "token", "%s %s: status %d", fn, u.Host, resp.StatusCode))
	}
	return st.rt.ToValue(buf.String())
}

// installVars defines `vars`: the provider's plain values by name (vars.region), frozen with the
// rest of the global object. Its prototype is null, so a name like "constructor" or "__proto__"
// reads the provider's value or undefined, never an inherited property.
func (st *callState) installVars(g *goja.Object) {
	o := st.rt.NewObject()
	_ = o.SetPrototype(nil)
	for k, v := range st.step.vars {
		_ = o.DefineDataProperty(k, st.rt.ToValue(v), goja.FLAG_FALSE, goja.FLAG_FALSE, goja.FLAG_TRUE)
	}
	_ = g.Set("vars", o)
}
