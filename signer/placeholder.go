package signer

import (
	"crypto/subtle"
	"strconv"

	"github.com/keygate/keygate/internal/failure"
)

// Placeholder credentials (docs/sdks.md): a service keeps its provider's official SDK and
// configures it with a placeholder identity (DefaultPlaceholder as the AWS access key ID, the
// WeChat Pay certificate serial, the Alipay app_id). The SDK signs with a throwaway secret;
// keygate recognises the placeholder, verifies nothing of that signature, strips every part of
// it and re-signs with the real key. A request signed under any OTHER identity is refused: the
// service still holds a real key somewhere, and re-signing would hide it.

// DefaultPlaceholder is the placeholder identity when a step's config names none.
const DefaultPlaceholder = "KEYGATE-PLACEHOLDER"

// placeholderStage is the failure stage of placeholder recognition.
const placeholderStage = "placeholder"

// isPlaceholder compares in constant time: the identity is not a secret, but a request
// carrying a real credential should not learn the placeholder byte by byte either.
func isPlaceholder(got, want string) bool {
	return subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// realCredential is the refusal of a request signed under an identity that is not the
// placeholder. It names what was found by its shape, never its value (an access key ID is not
// a secret, but a log of refusals should not become a list of them).
func realCredential(what, where string) error {
	return failure.New(failure.Forbidden, placeholderStage,
		"%s in %s is not keygate's placeholder: this service still holds a real credential; "+
			"configure its SDK with the placeholder (docs/sdks.md) and remove the key", what, where)
}

// shape describes a credential by its first characters and length: "AKIA… (20 characters)".
func shape(s string) string {
	const shown = 4
	if len(s) <= shown {
		return "a value of " + strconv.Itoa(len(s)) + " characters"
	}
	return "\"" + printable(s[:shown]) + "…\" (" + strconv.Itoa(len(s)) + " characters)"
}

func printable(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c < 0x20 || c > 0x7e || c == '"' {
			b[i] = '?'
		}
	}
	return string(b)
}

// addPlaceholderSchemes registers the placeholder-credential variants of the SDK schemes.
func addPlaceholderSchemes(c Catalog) {
	c["aws_sigv4_sdk"] = newAWSSigV4SDK
	c["alipay_rsa2_sdk"] = newAlipayRSA2SDK
	c["wechatpay_v3_sdk"] = newWechatPayV3SDK
}

// addCallbackSchemes registers the schemes that verify inbound provider callbacks.
func addCallbackSchemes(c Catalog) {
	c["wechatpay_v3_callback"] = newWechatPayV3Callback
	c["alipay_rsa2_callback"] = newAlipayRSA2Callback
}
