package token

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/keygate/keygate/internal/secret"
)

// A template is a token request value with placeholders, compiled at config load:
//
//	{var:NAME}     the provider's plain value NAME (resolved at compile)
//	{secret:NAME}  the provider's secret NAME, read per fetch (sent only to the token endpoint)
//	{timestamp}    Unix seconds at the fetch       {timestamp_ms}  Unix milliseconds
//	{nonce}        a fresh random string per fetch (the same in every field of one request)
//	{{             a literal "{"
type template []templatePart

type partKind int

const (
	partText partKind = iota
	partSecret
	partTimestamp
	partTimestampMS
	partNonce
)

type templatePart struct {
	kind partKind
	text string // the literal, or the secret's name
}

// parseTemplate compiles s; vars resolves {var:NAME} now, so a missing var fails the config.
func parseTemplate(s string, vars map[string]string) (template, error) {
	var t template
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			t = append(t, templatePart{kind: partText, text: lit.String()})
			lit.Reset()
		}
	}
	for len(s) > 0 {
		i := strings.IndexByte(s, '{')
		if i < 0 {
			lit.WriteString(s)
			break
		}
		lit.WriteString(s[:i])
		s = s[i:]
		if strings.HasPrefix(s, "{{") {
			lit.WriteByte('{')
			s = s[2:]
			continue
		}
		end := strings.IndexByte(s, '}')
		if end < 0 {
			return nil, fmt.Errorf("unclosed placeholder (write {{ for a literal brace)")
		}
		name := s[1:end]
		s = s[end+1:]
		switch {
		case strings.HasPrefix(name, "var:"):
			v, ok := vars[name[4:]]
			if !ok {
				return nil, fmt.Errorf("{%s}: the provider has no var %q", name, name[4:])
			}
			lit.WriteString(v)
		case strings.HasPrefix(name, "secret:") && len(name) > 7:
			flush()
			t = append(t, templatePart{kind: partSecret, text: name[7:]})
		case name == "timestamp":
			flush()
			t = append(t, templatePart{kind: partTimestamp})
		case name == "timestamp_ms":
			flush()
			t = append(t, templatePart{kind: partTimestampMS})
		case name == "nonce":
			flush()
			t = append(t, templatePart{kind: partNonce})
		default:
			return nil, fmt.Errorf("unknown placeholder {%s}: want var:NAME, secret:NAME, timestamp, timestamp_ms or nonce", name)
		}
	}
	flush()
	return t, nil
}

// secretNames lists the secrets t reads.
func (t template) secretNames() []string {
	var names []string
	for _, p := range t {
		if p.kind == partSecret {
			names = append(names, p.text)
		}
	}
	return names
}

// fetchValues are the per-fetch values templates render with.
type fetchValues struct {
	now     time.Time
	nonce   string
	secrets map[string]secret.Value
}

// newFetchValues reads every secret the templates use, once.
func newFetchValues(ctx context.Context, deps FetcherDeps, ts []template) (*fetchValues, error) {
	fv := &fetchValues{now: deps.Clock(), nonce: deps.Nonce(), secrets: map[string]secret.Value{}}
	for _, t := range ts {
		for _, name := range t.secretNames() {
			if _, ok := fv.secrets[name]; ok {
				continue
			}
			v, err := readSecret(ctx, deps.Keys, name)
			if err != nil {
				return nil, err
			}
			fv.secrets[name] = v
		}
	}
	return fv, nil
}

// render produces the value. It may hold a secret: it goes into the token request only.
func (t template) render(fv *fetchValues) string {
	var b strings.Builder
	for _, p := range t {
		switch p.kind {
		case partText:
			b.WriteString(p.text)
		case partSecret:
			b.Write(fv.secrets[p.text].Reveal())
		case partTimestamp:
			b.WriteString(strconv.FormatInt(fv.now.Unix(), 10))
		case partTimestampMS:
			b.WriteString(strconv.FormatInt(fv.now.UnixMilli(), 10))
		case partNonce:
			b.WriteString(fv.nonce)
		}
	}
	return b.String()
}
