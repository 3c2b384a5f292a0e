package signer

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/keygate/keygate/internal/jsonbody"
)

// Request is the HTTP request as it will leave for the provider. Steps change it in place; the
// ext_proc server turns the difference into Envoy header and body mutations, and `keygate sign`
// prints it. Header keys are canonical (http.Header); they leave lower-cased through Envoy.
type Request struct {
	Method    string
	Scheme    string // "https" or "http"
	Authority string // upstream host[:port]
	Path      string // escaped path, plus "?" and the raw query if any: the request-line target
	Header    http.Header

	body    []byte
	json    *jsonbody.Object // parsed lazily by JSON; authoritative while jsonDirty
	jsonErr error
	dirty   bool // the JSON object was changed after parsing

	spelling map[string]string // canonical header name -> the name as a script wrote it

	// scratch are pooled buffers (sealScratch) that values of the JSON view point into; Settle
	// gives them back. The first two live here, not in a slice grown per request.
	scratch    []*[]byte
	scratchBuf [2]*[]byte
}

// keepScratch records that the JSON view holds b, the contents of pooled buffer p, until the
// body is settled.
func (r *Request) keepScratch(p *[]byte, b []byte) {
	*p = b
	if r.scratch == nil {
		r.scratch = r.scratchBuf[:0]
	}
	r.scratch = append(r.scratch, p)
}

// Settle keeps the serialized body alone, once every step has run: the parsed JSON view is
// dropped (it points into the caller's body and holds the steps' fields) and the scratch
// buffers its values were built in go back to their pool. Only the pipeline calls it, after
// the last step: a step may hold a value of the view while it runs. A request that is never
// settled leaves its buffers to the collector.
func (r *Request) Settle() {
	r.SetBody(r.Body())
	for i, p := range r.scratch {
		putScratch(p, *p)
		r.scratch[i] = nil
	}
	r.scratch = r.scratch[:0]
}

// SpellHeader records how a header name was written (a script's "X-TC-Action"), so that
// `keygate sign` (WriteHTTP1) prints it so. Envoy cannot keep it: it holds header names lower
// case (docs/custom-mode.md, "Header names and their case").
func (r *Request) SpellHeader(name string) {
	ck := http.CanonicalHeaderKey(name)
	if ck == name {
		delete(r.spelling, ck)
		return
	}
	if r.spelling == nil {
		r.spelling = map[string]string{}
	}
	r.spelling[ck] = name
}

// HeaderName is the name to write header key k (a key of r.Header) with: as it was spelled,
// or canonical.
func (r *Request) HeaderName(k string) string {
	ck := http.CanonicalHeaderKey(k)
	if s, ok := r.spelling[ck]; ok {
		return s
	}
	return ck
}

// NewRequest builds a Request with body b (nil for none).
func NewRequest(method, scheme, authority, path string, header http.Header, body []byte) *Request {
	if header == nil {
		header = http.Header{}
	}
	return &Request{Method: method, Scheme: scheme, Authority: authority, Path: path, Header: header, body: body}
}

// Body returns the current body bytes, serializing the JSON object if a step changed it.
func (r *Request) Body() []byte {
	if r.dirty {
		// A new buffer (never the caller's), sized for the usual growth (a field encrypted and
		// base64-encoded, a signature added) so serializing does not regrow it (profiled).
		r.body = r.json.AppendTo(make([]byte, 0, len(r.body)+len(r.body)/2+256))
		r.dirty = false
	}
	return r.body
}

// HasBody reports whether the body is non-empty without serializing a changed JSON object (an
// object serializes to at least "{}"): a script reads and writes the body field by field, and
// asking Body for its length after each write re-serialized the whole body (profiled).
func (r *Request) HasBody() bool { return r.dirty || len(r.body) > 0 }

// SetBody replaces the body; a parsed JSON view is dropped.
func (r *Request) SetBody(b []byte) { r.body, r.json, r.jsonErr, r.dirty = b, nil, nil, false }

// JSON returns the body as an ordered JSON object, parsed once however many steps ask. Changes
// to the object are written back by Body; call MarkJSONChanged after changing it.
func (r *Request) JSON() (*jsonbody.Object, error) {
	if r.json == nil && r.jsonErr == nil {
		r.json, r.jsonErr = jsonbody.Parse(r.body)
	}
	return r.json, r.jsonErr
}

// MarkJSONChanged records that the object returned by JSON was changed.
func (r *Request) MarkJSONChanged() { r.dirty = true }

// PathOnly is the escaped path without the query.
func (r *Request) PathOnly() string {
	p, _, _ := strings.Cut(r.Path, "?")
	return p
}

// RawQuery is the raw query without "?".
func (r *Request) RawQuery() string {
	_, q, _ := strings.Cut(r.Path, "?")
	return q
}

// Query parses the query. Malformed escapes are errors rather than silently dropped pairs.
func (r *Request) Query() (url.Values, error) { return url.ParseQuery(r.RawQuery()) }

// SetRawQuery replaces the query ("" removes it).
func (r *Request) SetRawQuery(q string) {
	r.Path = r.PathOnly()
	if q != "" {
		r.Path += "?" + q
	}
}

// Response is the provider's answer as it will return to the caller.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
	// Chosen: the body is not what the provider sent but what a caller who may not see secrets
	// chose (a redacted dry run's pasted answer). Its ciphertext is no provider's, so nothing in
	// it may be decrypted under a secret IV (an IV oracle, docs/custom-mode.md).
	Chosen bool
}
