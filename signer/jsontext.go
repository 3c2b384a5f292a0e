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
// memberText is textBytes of a member's value; plain (jsonbody.Object.Member) says the value is
// a string that needs no unescaping, which then is not scanned again (a 4 KiB field was
// scanned once per reader, profiled).
func memberText(raw json.RawMessage, plain bool) []byte {
	if plain {
		return raw[1 : len(raw)-1]
	}
	return textBytes(raw)
}

func textBytes(raw json.RawMessage) []byte {
	if inner, ok := jsonbody.PlainString(raw); ok {
		return inner
	}
	if isScalarToken(raw) {
		return raw // a number, true or false: TextOf is its text as is
	}
	return []byte(jsonbody.TextOf(raw))
}

// isScalarToken reports whether raw is a bare number, true or false with no whitespace around
// it: its compact JSON text is raw itself (TextOf would compact it into a copy).
func isScalarToken(raw json.RawMessage) bool {
	if len(raw) == 0 || isJSONSpace(raw[len(raw)-1]) {
		return false
	}
	switch c := raw[0]; {
	case c == '-' || '0' <= c && c <= '9':
		return true
	case c == 't' || c == 'f':
		return string(raw) == "true" || string(raw) == "false"
	}
	return false
}

func isJSONSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }
