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
type Ref struct {
	Kind    RefKind
	Mount   string // KV v2 or Transit mount, e.g. "secret", "transit"
	Path    string // KV: the secret path under the mount; Transit: the key name
	Field   string // KV only: the field within the secret
	Version int    // KV only: 0 means latest
}

// ParseRef parses the text form. Errors say what is wrong with the reference; a reference is
// never a secret, so it may appear in errors and logs.
func ParseRef(s string) (Ref, error) {
	if rest, ok := strings.CutPrefix(s, "transit:"); ok {
		mount, key, ok := strings.Cut(rest, "/")
		if !ok || mount == "" || key == "" || strings.ContainsAny(key, "/#@") {
			return Ref{}, fmt.Errorf("transit reference %q: want transit:MOUNT/KEY", s)
		}
		return Ref{Kind: Transit, Mount: mount, Path: key}, nil
	}
	pathPart, field, ok := strings.Cut(s, "#")
	if !ok {
		return Ref{}, fmt.Errorf("secret reference %q: want MOUNT/PATH#FIELD (or transit:MOUNT/KEY)", s)
	}
	version := 0
	if f, v, ok := strings.Cut(field, "@"); ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return Ref{}, fmt.Errorf("secret reference %q: version %q is not a positive integer", s, v)
		}
		field, version = f, n
	}
	mount, path, ok := strings.Cut(strings.Trim(pathPart, "/"), "/")
	if !ok || mount == "" || path == "" || field == "" {
		return Ref{}, fmt.Errorf("secret reference %q: want MOUNT/PATH#FIELD, with mount, path and field all set", s)
	}
	return Ref{Kind: KV, Mount: mount, Path: path, Field: field, Version: version}, nil
}

// String is the text form ParseRef accepts.
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

// Unversioned is r without its pinned version: the cache key of "the latest".
func (r Ref) Unversioned() Ref { r.Version = 0; return r }
