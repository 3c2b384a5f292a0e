package keystore

import (
	"fmt"
	"strconv"
	"strings"
)

// RefKind says what a reference points at.
type RefKind int

const (
	// KV is a field of a key/value secret: a KV v2 secret in Vault, or an entry of the file
	// keystore. Its bytes are fetched (and cached) by keygate.
	KV RefKind = iota + 1
	// Transit is a named Vault Transit key. Its bytes never leave Vault: keygate asks Vault to
	// HMAC or sign with it.
	Transit
)

// Ref names one secret. Its text form, used in provider YAML:
//
//	kv:     MOUNT/PATH#FIELD        e.g. secret/keygate/demo#app_secret
//	        MOUNT/PATH#FIELD@N      pinned to KV v2 version N
//	transit: transit:MOUNT/KEY      e.g. transit:transit/demo-hmac
//
// The same KV reference resolves in the file keystore (development) and in Vault, so a provider
// config moves from one to the other unchanged.
//
// A parsed Ref is canonical: every path segment is a plain name (see ParseRef), so the text
// keygate checks (tenant scope, pins) is byte for byte the path Vault resolves. Nothing in a
// reference is interpreted twice.
type Ref struct {
	Kind    RefKind
	Mount   string // KV v2 or Transit mount, e.g. "secret", "transit"
	Path    string // KV: the secret path under the mount; Transit: the key name
	Field   string // KV only: the field within the secret
	Version int    // KV only: 0 means latest
}

// RefError is a reference ParseRef refused: the reference text and the rule it broke.
type RefError struct {
	Ref  string
	Rule string
}

func (e *RefError) Error() string { return fmt.Sprintf("secret reference %q: %s", e.Ref, e.Rule) }

// ParseRef parses the text form, canonical or refused. Each '/'-separated segment of the mount
// and path, the transit key and the field must be a plain name: 1-128 of A-Z a-z 0-9 '-' '_'
// '.', and not "." or "..". That refuses, by construction, everything another parser could
// read differently: empty segments ("a//b", a leading or trailing '/'), dot segments (the Vault
// client's path.Join resolves "..", and "alpha/../beta" would be beta's secret), percent
// escapes, backslashes, control characters, spaces, '?', ';' and non-ASCII. Errors name the
// rule; a reference is never a secret, so it may appear in errors and logs.
func ParseRef(s string) (Ref, error) {
	bad := func(format string, args ...any) (Ref, error) {
		return Ref{}, &RefError{Ref: s, Rule: fmt.Sprintf(format, args...)}
	}
	if rest, ok := strings.CutPrefix(s, "transit:"); ok {
		mount, key, ok := strings.Cut(rest, "/")
		if !ok || (mount == "" && key == "") {
			return bad("want transit:MOUNT/KEY")
		}
		if strings.Contains(key, "/") {
			return bad("a transit key name has no '/'")
		}
		if rule := badSegment("mount", mount); rule != "" {
			return bad("%s", rule)
		}
		if rule := badSegment("key", key); rule != "" {
			return bad("%s", rule)
		}
		return Ref{Kind: Transit, Mount: mount, Path: key}, nil
	}
	pathPart, field, ok := strings.Cut(s, "#")
	if !ok {
		return bad("want MOUNT/PATH#FIELD (or transit:MOUNT/KEY)")
	}
	version := 0
	if f, v, ok := strings.Cut(field, "@"); ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || strconv.Itoa(n) != v {
			return bad("version %q is not a positive integer", v)
		}
		field, version = f, n
	}
	mount, path, ok := strings.Cut(pathPart, "/")
	if !ok || field == "" {
		return bad("want MOUNT/PATH#FIELD, with mount, path and field all set")
	}
	if rule := badSegment("mount", mount); rule != "" {
		return bad("%s", rule)
	}
	for i, seg := range strings.Split(path, "/") {
		if rule := badSegment(fmt.Sprintf("path segment %d", i+1), seg); rule != "" {
			return bad("%s", rule)
		}
	}
	if rule := badSegment("field", field); rule != "" {
		return bad("%s", rule)
	}
	return Ref{Kind: KV, Mount: mount, Path: path, Field: field, Version: version}, nil
}

// maxSegment bounds one segment; Vault has no such limit, but no real name comes near it.
const maxSegment = 128

// badSegment is the rule seg breaks, or "" for a plain name.
func badSegment(what, seg string) string {
	switch {
	case seg == "":
		return what + " is empty (no leading, trailing or double '/')"
	case seg == "." || seg == "..":
		return fmt.Sprintf("%s is %q: dot segments are not allowed", what, seg)
	case len(seg) > maxSegment:
		return fmt.Sprintf("%s is longer than %d characters", what, maxSegment)
	}
	for i := 0; i < len(seg); i++ {
		c := seg[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' {
			continue
		}
		switch {
		case c == '%':
			return what + " has '%': percent escapes are not allowed"
		case c == '\\':
			return what + " has a backslash"
		case c < 0x20 || c == 0x7f:
			return fmt.Sprintf("%s has control character %#02x", what, c)
		case c >= 0x80:
			return what + " has a non-ASCII byte"
		}
		return fmt.Sprintf("%s has %q: only A-Z a-z 0-9 '-' '_' '.' are allowed", what, string(c))
	}
	return ""
}

// String is the text form ParseRef accepts; ParseRef(r.String()) == r for every parsed r.
func (r Ref) String() string {
	switch r.Kind {
	case Transit:
		return "transit:" + r.Mount + "/" + r.Path
	case KV:
		s := r.Mount + "/" + r.Path + "#" + r.Field
		if r.Version > 0 {
			s += "@" + strconv.Itoa(r.Version)
		}
		return s
	}
	return "invalid-ref"
}

// Canonical reports whether r is exactly what ParseRef makes of its text form. The backends
// check it before they build a Vault path, so a Ref assembled in code (not parsed) cannot reach
// Vault with a segment Vault's client would clean ("..") or re-read ("%2e").
func (r Ref) Canonical() error {
	p, err := ParseRef(r.String())
	if err != nil {
		return err
	}
	if p != r {
		return &RefError{Ref: r.String(), Rule: "not in canonical form"}
	}
	return nil
}

// Under reports whether r is a KV secret at or below prefix, a '/'-separated "MOUNT/PATH"
// compared segment by segment (so "keygate/tenants/al" does not cover "keygate/tenants/alpha").
func (r Ref) Under(mount, pathPrefix string) bool {
	if r.Kind != KV || r.Mount != mount {
		return false
	}
	p := strings.Trim(pathPrefix, "/")
	return p == "" || strings.HasPrefix(r.Path, p+"/")
}

// Unversioned is r without its pinned version: the cache key of "the latest".
func (r Ref) Unversioned() Ref { r.Version = 0; return r }
