// Package secret holds Value, the one type keygate uses for key material, tokens and any other
// byte string that must never be printed. Every way Go has to render a value (fmt verbs, JSON,
// text marshalling, slog) prints "[redacted]"; the bytes are reachable only through Reveal.
package secret

import (
	"crypto/subtle"
	"fmt"
	"log/slog"
)

// Redacted is what every rendering of a Value prints.
const Redacted = "[redacted]"

// Value is an immutable secret byte string. The zero Value is empty.
type Value struct{ b []byte }

// New wraps b. The caller must not modify b afterwards.
func New(b []byte) Value { return Value{b: b} }

// FromString wraps a copy of s.
func FromString(s string) Value { return Value{b: []byte(s)} }

// Reveal returns the secret bytes. It is the only way to reach them: call it at the point of
// use (a MAC, a cipher, a header value leaving for the provider), never to log or store. The
// returned slice must not be modified or retained.
func (v Value) Reveal() []byte { return v.b }

// IsZero reports whether the value is empty.
func (v Value) IsZero() bool { return len(v.b) == 0 }

// Len is the length in bytes; lengths are not secret (key sizes are validated by length).
func (v Value) Len() int { return len(v.b) }

// Equal compares in constant time.
func (v Value) Equal(o Value) bool { return subtle.ConstantTimeCompare(v.b, o.b) == 1 }

func (Value) String() string               { return Redacted }
func (Value) GoString() string             { return Redacted }
func (Value) Format(f fmt.State, _ rune)   { _, _ = f.Write([]byte(Redacted)) }
func (Value) MarshalJSON() ([]byte, error) { return []byte(`"` + Redacted + `"`), nil }
func (Value) MarshalText() ([]byte, error) { return []byte(Redacted), nil }
func (Value) LogValue() slog.Value         { return slog.StringValue(Redacted) }

var (
	_ fmt.Stringer   = Value{}
	_ fmt.Formatter  = Value{}
	_ slog.LogValuer = Value{}
)
