package signer

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
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
	switch e {
	case encHex:
		return hex.EncodeToString(b)
	case encHexUpper:
		return strings.ToUpper(hex.EncodeToString(b))
	case encBase64URL:
		return base64.RawURLEncoding.EncodeToString(b)
	}
	return base64.StdEncoding.EncodeToString(b)
}

func (e byteEncoding) decode(s string) ([]byte, error) {
	switch e {
	case encHex, encHexUpper:
		return hex.DecodeString(s)
	case encBase64URL:
		return base64.RawURLEncoding.DecodeString(s)
	}
	return base64.StdEncoding.DecodeString(s)
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
func (e keyEncoding) decode(b []byte) ([]byte, error) {
	switch e {
	case "base64":
		out := make([]byte, base64.StdEncoding.DecodedLen(len(b)))
		n, err := base64.StdEncoding.Decode(out, []byte(strings.TrimSpace(string(b))))
		if err != nil {
			return nil, fmt.Errorf("key is not valid base64")
		}
		return out[:n], nil
	case "hex":
		out := make([]byte, hex.DecodedLen(len(strings.TrimSpace(string(b)))))
		if _, err := hex.Decode(out, []byte(strings.TrimSpace(string(b)))); err != nil {
			return nil, fmt.Errorf("key is not valid hex")
		}
		return out, nil
	}
	return b, nil
}
