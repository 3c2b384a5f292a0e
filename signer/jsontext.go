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
