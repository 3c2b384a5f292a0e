package signer

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
)

// stringTemplate is a compiled canonical-string or header-value template. Placeholders:
//
//	{method} {path} {query} {target} {body} {body_sha256} {timestamp} {nonce} {header:NAME}
//	{signature} (value templates only)
//
// {path} is the escaped path, {query} the raw query with its pairs sorted, {target} the path
// and raw query as sent, {body_sha256} the hex SHA-256 of the body. The two characters `\n`
// are a newline, so single-quoted YAML works too. Everything else is literal.
type stringTemplate struct {
	parts    []templatePart
	needBody bool
}

type templatePart struct {
	kind string // "" for literal text
	text string // the literal, or the header name of {header:NAME}
}

// templateVars are the per-request values a template may use.
type templateVars struct {
	timestamp, nonce, signature string
}

func compileTemplate(src string, allowed map[string]bool) (stringTemplate, error) {
	var t stringTemplate
	src = strings.ReplaceAll(src, `\n`, "\n")
	for src != "" {
		i := strings.IndexByte(src, '{')
		if i < 0 {
			t.parts = append(t.parts, templatePart{text: src})
			break
		}
		if i > 0 {
			t.parts = append(t.parts, templatePart{text: src[:i]})
		}
		j := strings.IndexByte(src[i:], '}')
		if j < 0 {
			return t, fmt.Errorf("unclosed placeholder at %q", src[i:])
		}
		name := src[i+1 : i+j]
		src = src[i+j+1:]
		kind, arg, _ := strings.Cut(name, ":")
		if !allowed[kind] || (kind == "header") != (arg != "") {
			return t, fmt.Errorf("unknown placeholder {%s}", name)
		}
		if kind == "body" || kind == "body_sha256" {
			t.needBody = true
		}
		t.parts = append(t.parts, templatePart{kind: kind, text: http.CanonicalHeaderKey(arg)})
	}
	return t, nil
}

// canonicalPlaceholders are those of a canonical (string-to-sign) template.
var canonicalPlaceholders = map[string]bool{
	"method": true, "path": true, "query": true, "target": true, "body": true,
	"body_sha256": true, "timestamp": true, "nonce": true, "header": true,
}

// valuePlaceholders are those of an output value template.
var valuePlaceholders = map[string]bool{"signature": true, "timestamp": true, "nonce": true}

func (t stringTemplate) uses(kind string) bool {
	for _, p := range t.parts {
		if p.kind == kind {
			return true
		}
	}
	return false
}

// render writes the template for request r.
func (t stringTemplate) render(r *Request, v templateVars) []byte {
	var b []byte
	for _, p := range t.parts {
		switch p.kind {
		case "":
			b = append(b, p.text...)
		case "method":
			b = append(b, r.Method...)
		case "path":
			b = append(b, r.PathOnly()...)
		case "query":
			b = append(b, sortedRawQuery(r.RawQuery())...)
		case "target":
			b = append(b, r.Path...)
		case "body":
			b = append(b, r.Body()...)
		case "body_sha256":
			sum := sha256.Sum256(r.Body())
			b = hex.AppendEncode(b, sum[:])
		case "timestamp":
			b = append(b, v.timestamp...)
		case "nonce":
			b = append(b, v.nonce...)
		case "signature":
			b = append(b, v.signature...)
		case "header":
			if p.text == "Host" { // the authority is not kept among the headers
				b = append(b, r.Authority...)
				continue
			}
			b = append(b, strings.Join(r.Header.Values(p.text), ",")...)
		}
	}
	return b
}
