package signer

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
)

// byteEncoding is how a signature or ciphertext is written as text.
type byteEncoding string

const (
	encHex       byteEncoding = "hex"
	encHexUpper  byteEncoding = "hex_upper"
	encBase64    byteEncoding = "base64"
	encBase64URL byteEncoding = "base64url" // unpadded, RFC 4648 section 5
)

func parseEncoding(s, def string) (byteEncoding, error) {
	if s == "" {
		s = def
	}
	switch e := byteEncoding(s); e {
	case encHex, encHexUpper, encBase64, encBase64URL:
		return e, nil
	}
	return "", fmt.Errorf("%q is not one of hex, hex_upper, base64, base64url", s)
}

func (e byteEncoding) encode(b []byte) string {
	return string(e.appendEncode(make([]byte, 0, e.encodedLen(len(b))), b))
}

// appendEncode appends the text of b to dst. Ciphertexts are encoded straight into the body
// field they become, not through an intermediate string.
func (e byteEncoding) appendEncode(dst, b []byte) []byte {
	switch e {
	case encHex:
		return hex.AppendEncode(dst, b)
	case encHexUpper:
		n := len(dst)
		dst = hex.AppendEncode(dst, b)
		for i := n; i < len(dst); i++ {
			if c := dst[i]; 'a' <= c && c <= 'f' {
				dst[i] = c - 'a' + 'A'
			}
		}
		return dst
	case encBase64URL:
		return base64.RawURLEncoding.AppendEncode(dst, b)
	}
	return base64.StdEncoding.AppendEncode(dst, b)
}

func (e byteEncoding) encodedLen(n int) int {
	switch e {
	case encHex, encHexUpper:
		return hex.EncodedLen(n)
	case encBase64URL:
		return base64.RawURLEncoding.EncodedLen(n)
	}
	return base64.StdEncoding.EncodedLen(n)
}

// appendQuoted appends the JSON string of the text of b to dst: hex and base64 text needs no
// escaping, so this is what json.Marshal would write.
func (e byteEncoding) appendQuoted(dst, b []byte) json.RawMessage {
	dst = slices.Grow(dst, e.encodedLen(len(b))+2)
	dst = append(dst, '"')
	dst = e.appendEncode(dst, b)
	return append(dst, '"')
}

// decode returns the bytes of text, in a new slice: text may alias a body.
func (e byteEncoding) decode(text []byte) ([]byte, error) { return e.appendDecode(nil, text) }

// appendDecode appends the bytes of text to dst (which must not overlap text).
func (e byteEncoding) appendDecode(dst, text []byte) ([]byte, error) {
	switch e {
	case encHex, encHexUpper:
		return hex.AppendDecode(dst, text)
	case encBase64URL:
		return base64.RawURLEncoding.AppendDecode(dst, text)
	}
	return base64.StdEncoding.AppendDecode(dst, text)
}

// keyEncoding is how a key is stored in a KV field: raw bytes, or base64/hex text of them.
type keyEncoding string

func parseKeyEncoding(s string) (keyEncoding, error) {
	switch s {
	case "", "raw":
		return "raw", nil
	case "base64", "hex":
		return keyEncoding(s), nil
	}
	return "", fmt.Errorf("%q is not one of raw, base64, hex", s)
}

// decode returns the key bytes. The caller names the reference in errors; the value never.
// Key text is read as bytes, never copied into strings that could not be wiped.
func (e keyEncoding) decode(b []byte) ([]byte, error) {
	var text byteEncoding
	switch e {
	case "base64":
		text = encBase64
	case "hex":
		text = encHex
	default:
		return b, nil
	}
	out, err := text.decode(bytes.TrimSpace(b))
	if err != nil {
		return nil, fmt.Errorf("key is not valid %s", e)
	}
	return out, nil
}
