package script

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"

	"github.com/keygate/keygate/internal/failure"
	"github.com/keygate/keygate/internal/secret"
)

// A handle is how a secret reaches JavaScript: a marker string that stands for the secret's
// bytes. Markers are delimited by two private-use characters that ordinary text does not hold:
//
//	"\uE000kg:" + invocation id + ":" + index + "\uE001"
//
// Concatenating a marker into a larger string (the article signs str + AppSecure) keeps it
// intact; crypto built-ins replace markers with the real bytes just before computing. The marker
// is not the secret, so string tricks on it (split, charCodeAt) reveal nothing; the invocation id
// is random, so a marker from an earlier request or from the caller's data resolves to nothing.
const (
	markOpen   = '\uE000'
	markClose  = '\uE001'
	markPrefix = "\uE000kg:"
)

// A handle stands for a provider secret (by name, loaded on first use), a token, or material
// derived from a secret by a built-in (an HMAC chain key, an encoded sign string): derived
// material keeps its origin's name and role, so it goes where its origin may go and no further.
type handle struct {
	name    string // the provider's secret name, or the one derived material came from; "" for tokens
	role    role   // roleUnset for a named secret: its role is the step's (roles.go)
	derived bool
	depth   int // hmac_key: HMACs applied since the root secret
	val     secret.Value
	loaded  bool
}

// handleTable holds one invocation's handles.
type handleTable struct {
	inv  string
	list []handle
}

// clear drops the handles (and the secrets they hold) of the invocation that ended.
func (t *handleTable) clear() {
	clear(t.list)
	t.list = t.list[:0]
}

func (t *handleTable) reset() {
	t.clear()
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand never fails on supported platforms
	t.inv = hex.EncodeToString(b[:])
}

func (t *handleTable) marker(i int) string {
	return markPrefix + t.inv + ":" + strconv.Itoa(i) + string(markClose)
}

// named returns the marker of the provider secret name, one per invocation.
func (t *handleTable) named(name string) string {
	for i := range t.list {
		if t.list[i].name == name && !t.list[i].derived && t.list[i].role == roleUnset {
			return t.marker(i)
		}
	}
	t.list = append(t.list, handle{name: name})
	return t.marker(len(t.list) - 1)
}

// value returns the marker of a value the script must not see (a token, derived material).
func (t *handleTable) value(h handle, v secret.Value) string {
	h.val, h.loaded = v, true
	t.list = append(t.list, h)
	return t.marker(len(t.list) - 1)
}

// hasMarker reports whether s holds any part of a marker: such a string must not reach an output.
func hasMarker(s string) bool {
	return strings.ContainsRune(s, markOpen) || strings.ContainsRune(s, markClose)
}

var errBadHandle = errors.New("unknown or expired secret handle")

// lookup parses the marker at the start of s and returns its handle index and length.
func (t *handleTable) lookup(s string) (int, int, error) {
	end := strings.IndexRune(s, markClose)
	if !strings.HasPrefix(s, markPrefix) || end < 0 {
		return 0, 0, errBadHandle
	}
	inv, idx, ok := strings.Cut(s[len(markPrefix):end], ":")
	n, err := strconv.Atoi(idx)
	if !ok || err != nil || inv != t.inv || n < 0 || n >= len(t.list) {
		return 0, 0, errBadHandle
	}
	return n, end + len(string(markClose)), nil
}

// sinkError is the fail-closed error for a secret reaching an output. It names the sink, never
// the value.
func sinkError(sink string) error {
	return failure.New(failure.Internal, "script", "secret value reached %s", sink)
}
