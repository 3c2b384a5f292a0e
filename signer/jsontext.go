package signer

import (
	"encoding/json"

	"github.com/keygate/keygate/internal/jsonbody"
)

// textOf is jsonbody.TextOf with a fast path for the common field: a JSON string without
// escapes, control characters or invalid UTF-8, whose text is its bytes between the quotes.
// encoding/json would validate and copy it twice; for a 4 KiB `data` field that was the largest
// single cost of the article's signing (profiled with test/loadgen). Any other value takes
// jsonbody.TextOf, so the result is identical.
func textOf(raw json.RawMessage) string {
	if inner, ok := jsonbody.PlainString(raw); ok {
		return string(inner)
	}
	return jsonbody.TextOf(raw)
}

// textBytes is textOf as bytes, without a copy on the fast path: the result may alias raw and
// must only be read.
func textBytes(raw json.RawMessage) []byte {
	if inner, ok := jsonbody.PlainString(raw); ok {
		return inner
	}
	return []byte(jsonbody.TextOf(raw))
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
