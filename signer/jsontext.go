package signer

import (
	"encoding/json"
	"unicode/utf8"

	"github.com/keygate/keygate/internal/jsonbody"
)

// textOf is jsonbody.TextOf with a fast path for the common field: a JSON string without
// escapes, control characters or invalid UTF-8, whose text is its bytes between the quotes.
// encoding/json would validate and copy it twice; for a 4 KiB `data` field that was the largest
// single cost of the article's signing (profiled with test/loadgen). Any other value takes
// jsonbody.TextOf, so the result is identical.
func textOf(raw json.RawMessage) string {
	if inner, ok := plainString(raw); ok {
		return string(inner)
	}
	return jsonbody.TextOf(raw)
}

// textBytes is textOf as bytes, without a copy on the fast path: the result may alias raw and
// must only be read.
func textBytes(raw json.RawMessage) []byte {
	if inner, ok := plainString(raw); ok {
		return inner
	}
	return []byte(jsonbody.TextOf(raw))
}

// plainString returns the bytes between the quotes of a JSON string that needs no unescaping.
func plainString(raw json.RawMessage) ([]byte, bool) {
	n := len(raw)
	if n < 2 || raw[0] != '"' || raw[n-1] != '"' {
		return nil, false
	}
	inner := raw[1 : n-1]
	for _, c := range inner {
		if c == '\\' || c == '"' || c < 0x20 {
			return nil, false
		}
	}
	return inner, utf8.Valid(inner)
}

// fieldText is (*jsonbody.Object).Text through textOf.
func fieldText(o *jsonbody.Object, key string) (string, bool) {
	raw, ok := o.Raw(key)
	if !ok {
		return "", false
	}
	return textOf(raw), true
}

// quoted is the JSON string of s when s needs no escaping (hex and base64 text): what
// json.Marshal would write, in one allocation and without a scan.
func quoted(s string) json.RawMessage {
	raw := make([]byte, 0, len(s)+2)
	raw = append(raw, '"')
	raw = append(raw, s...)
	return append(raw, '"')
}
