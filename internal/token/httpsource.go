package token

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/internal/failure"
	"github.com/keygate/keygate/internal/secret"
)

// httpParams are the params of an `http` token source: a configurable token call.
type httpParams struct {
	Method       string                     `json:"method,omitempty"`       // default POST
	ContentType  string                     `json:"content_type,omitempty"` // json (default) | form
	Query        map[string]string          `json:"query,omitempty"`        // name -> template
	Headers      map[string]string          `json:"headers,omitempty"`      // name -> template
	Body         map[string]json.RawMessage `json:"body,omitempty"`         // field -> template (a JSON string) or a JSON literal
	TokenPath    string                     `json:"token_path,omitempty"`   // dot path, default access_token
	ExpiryPath   string                     `json:"expiry_path,omitempty"`  // dot path; absent: default_ttl
	ExpiryFormat string                     `json:"expiry_format,omitempty"`
	DefaultTTL   config.Duration            `json:"default_ttl,omitempty"`
	TokenPrefix  string                     `json:"token_prefix,omitempty"` // prepended to the token, e.g. "Bearer "
}

// bodyField is one compiled body field: a template, or a JSON literal written as is.
type bodyField struct {
	name    string
	tmpl    template
	literal json.RawMessage
}

type httpFetcher struct {
	method, contentType string
	url                 *url.URL
	ep                  string
	query, headers      map[string]template
	body                []bodyField // sorted by name
	tokenPath           []string
	expiryPath          []string
	expiryFormat        string
	ttl                 time.Duration
	prefix              string
	all                 []template // every template, for reading secrets once
	deps                FetcherDeps
}

func compileHTTP(u *url.URL, raw []byte, deps FetcherDeps) (Fetcher, error) {
	var p httpParams
	if err := config.DecodeParams(raw, &p); err != nil {
		return nil, fmt.Errorf("token.params: %w", err)
	}
	f := &httpFetcher{
		method: strings.ToUpper(p.Method), contentType: p.ContentType, url: u, ep: endpoint(u),
		query: map[string]template{}, headers: map[string]template{}, expiryFormat: p.ExpiryFormat,
		ttl: p.DefaultTTL.Or(DefaultTTL), prefix: p.TokenPrefix, deps: deps,
	}
	if f.method == "" {
		f.method = http.MethodPost
	}
	if f.contentType == "" {
		f.contentType = "json"
	}
	if f.expiryFormat == "" {
		f.expiryFormat = ExpirySecondsFromNow
	}
	switch {
	case f.method != http.MethodPost && f.method != http.MethodGet && f.method != http.MethodPut:
		return nil, fmt.Errorf("token.params.method: %q is not GET, POST or PUT", p.Method)
	case f.contentType != "json" && f.contentType != "form":
		return nil, fmt.Errorf("token.params.content_type: %q is not json or form", p.ContentType)
	case f.method == http.MethodGet && len(p.Body) > 0:
		return nil, fmt.Errorf("token.params.body: a GET token request has no body; use query")
	case !validExpiryFormat(f.expiryFormat):
		return nil, fmt.Errorf("token.params.expiry_format: %q is not seconds_from_now, unix_s, unix_ms or rfc3339", p.ExpiryFormat)
	}
	var err error
	if f.tokenPath, err = splitPath(cmpOr(p.TokenPath, "access_token")); err != nil {
		return nil, fmt.Errorf("token.params.token_path: %w", err)
	}
	if p.ExpiryPath != "" {
		if f.expiryPath, err = splitPath(p.ExpiryPath); err != nil {
			return nil, fmt.Errorf("token.params.expiry_path: %w", err)
		}
	}
	for field, m := range map[string]struct {
		in  map[string]string
		out map[string]template
	}{"query": {p.Query, f.query}, "headers": {p.Headers, f.headers}} {
		for name, s := range m.in {
			t, err := parseTemplate(s, deps.Vars)
			if err != nil {
				return nil, fmt.Errorf("token.params.%s.%s: %w", field, name, err)
			}
			if err := checkTemplateSecrets(fmt.Sprintf("token.params.%s.%s", field, name), name, t, deps.Declared); err != nil {
				return nil, err
			}
			m.out[name] = t
			f.all = append(f.all, t)
		}
	}
	for name, raw := range p.Body {
		bf := bodyField{name: name}
		var s string
		if json.Unmarshal(raw, &s) == nil {
			if bf.tmpl, err = parseTemplate(s, deps.Vars); err != nil {
				return nil, fmt.Errorf("token.params.body.%s: %w", name, err)
			}
			if err := checkTemplateSecrets("token.params.body."+name, name, bf.tmpl, deps.Declared); err != nil {
				return nil, err
			}
			f.all = append(f.all, bf.tmpl)
		} else if f.contentType == "form" && (bytes.HasPrefix(raw, []byte("{")) || bytes.HasPrefix(raw, []byte("["))) {
			return nil, fmt.Errorf("token.params.body.%s: a form field must be a string, number or boolean", name)
		} else {
			var compact bytes.Buffer
			if err := json.Compact(&compact, raw); err != nil {
				return nil, fmt.Errorf("token.params.body.%s: %w", name, err)
			}
			bf.literal = compact.Bytes()
			if credentialName(name) && len(bf.literal) >= 8 {
				return nil, fmt.Errorf("token.params.body.%s: a literal value where a credential belongs (not shown); "+
					"keep it in the keystore, declare it under the provider's secrets and write {secret:NAME}", name)
			}
		}
		f.body = append(f.body, bf)
	}
	slices.SortFunc(f.body, func(a, b bodyField) int { return strings.Compare(a.name, b.name) })
	for _, t := range f.all {
		if len(t.secretNames()) > 0 && deps.Keys == nil {
			return nil, fmt.Errorf("token.params: a {secret:...} placeholder, but the provider has no secrets")
		}
	}
	return f, nil
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func (f *httpFetcher) Fetch(ctx context.Context) (Token, error) {
	fv, err := newFetchValues(ctx, f.deps, f.all)
	if err != nil {
		return Token{}, err
	}
	req, err := f.request(ctx, fv)
	if err != nil {
		return Token{}, failure.Wrap(failure.Internal, stage, err, "building the token request")
	}
	doc, desc, err := call(f.deps.HTTPClient, req, f.ep)
	if err != nil {
		return Token{}, err
	}
	v, _ := lookup(doc, f.tokenPath)
	tok, ok := tokenString(v)
	if !ok {
		return Token{}, failure.New(failure.BadGateway, stage, "token endpoint %s answered 200 without %s (%s)", f.ep, strings.Join(f.tokenPath, "."), desc)
	}
	expiry := fv.now.Add(f.ttl)
	if f.expiryPath != nil {
		raw, ok := lookup(doc, f.expiryPath)
		if !ok {
			return Token{}, failure.New(failure.BadGateway, stage, "token endpoint %s answered 200 without %s (%s)", f.ep, strings.Join(f.expiryPath, "."), desc)
		}
		if expiry, err = parseExpiry(raw, f.expiryFormat, fv.now); err != nil {
			return Token{}, failure.New(failure.BadGateway, stage, "token endpoint %s answered 200 with a %s that %v", f.ep, strings.Join(f.expiryPath, "."), err)
		}
	}
	return Token{Value: secret.FromString(f.prefix + tok), Expiry: expiry}, nil
}

// request builds the token request; it may carry secrets (to the token endpoint only).
func (f *httpFetcher) request(ctx context.Context, fv *fetchValues) (*http.Request, error) {
	u := *f.url
	if len(f.query) > 0 {
		q := u.Query()
		for name, t := range f.query {
			q.Set(name, t.render(fv))
		}
		u.RawQuery = q.Encode()
	}
	var body io.Reader
	var contentType string
	if f.method != http.MethodGet {
		b, ct, err := f.encodeBody(fv)
		if err != nil {
			return nil, err
		}
		body, contentType = bytes.NewReader(b), ct
	}
	req, err := http.NewRequestWithContext(ctx, f.method, u.String(), body)
	if err != nil {
		return nil, fmt.Errorf("invalid token request")
	}
	req.Header.Set("Accept", "application/json")
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for name, t := range f.headers {
		req.Header.Set(name, t.render(fv))
	}
	return req, nil
}

// encodeBody writes the body fields in name order: JSON object or form.
func (f *httpFetcher) encodeBody(fv *fetchValues) ([]byte, string, error) {
	var b bytes.Buffer
	if f.contentType == "form" {
		for i, bf := range f.body {
			if i > 0 {
				b.WriteByte('&')
			}
			b.WriteString(url.QueryEscape(bf.name) + "=")
			if bf.literal != nil {
				b.WriteString(url.QueryEscape(strings.Trim(string(bf.literal), `"`)))
			} else {
				b.WriteString(url.QueryEscape(bf.tmpl.render(fv)))
			}
		}
		return b.Bytes(), "application/x-www-form-urlencoded", nil
	}
	b.WriteByte('{')
	for i, bf := range f.body {
		if i > 0 {
			b.WriteByte(',')
		}
		name, _ := json.Marshal(bf.name)
		b.Write(name)
		b.WriteByte(':')
		if bf.literal != nil {
			b.Write(bf.literal)
			continue
		}
		v, err := json.Marshal(bf.tmpl.render(fv))
		if err != nil {
			return nil, "", fmt.Errorf("encoding body field %s", bf.name)
		}
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), "application/json", nil
}
