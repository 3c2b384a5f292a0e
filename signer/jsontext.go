package signer

import (
	"encoding/json"

	"github.com/keygate/keygate/internal/jsonbody"
)

// textBytes is jsonbody.TextOf as bytes, with a fast path for the common field: a JSON string
// without escapes, control characters or invalid UTF-8 is its bytes between the quotes, not
// copied (encoding/json would validate and copy a 4 KiB data field twice: the largest single
// cost of the article's signing, profiled with test/loadgen). The result may alias raw and must
// only be read.
func textBytes(raw json.RawMessage) []byte {
	if inner, ok := jsonbody.PlainString(raw); ok {
		return inner
	}
	return []byte(jsonbody.TextOf(raw))
}
