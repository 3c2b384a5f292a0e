package signer

import (
	"crypto"
	"crypto/sha1" //nolint:gosec // SHA-1 HMAC is still what some providers specify
	"crypto/sha256"
	"crypto/sha512"
	"hash"
)

// namedHash is a hash keygate's configs may name.
type namedHash struct {
	id  crypto.Hash
	new func() hash.Hash
}

// hashes are the hash names configs use ("sha256"), the names Keys.HMAC and Keys.Sign accept.
var hashes = map[string]namedHash{
	"sha1":   {crypto.SHA1, sha1.New},
	"sha256": {crypto.SHA256, sha256.New},
	"sha512": {crypto.SHA512, sha512.New},
}

// vaultHashName is Vault Transit's name for a hash.
func vaultHashName(h string) string {
	switch h {
	case "sha256":
		return "sha2-256"
	case "sha512":
		return "sha2-512"
	}
	return h
}

func digest(h namedHash, data []byte) []byte {
	d := h.new()
	d.Write(data)
	return d.Sum(nil)
}
