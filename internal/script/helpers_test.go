package script

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"encoding/hex"

	"github.com/keygate/keygate/internal/secret"
	"github.com/keygate/keygate/signer"
)

func hexString(s string) string { return hex.EncodeToString([]byte(s)) }
func b64(s string) string       { return base64.StdEncoding.EncodeToString([]byte(s)) }
func b64url(s string) string    { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// cbcEncrypt and cbcDecrypt are the test's own AES-CBC/PKCS#5, independent of the built-ins.
func cbcEncrypt(key, iv, pt []byte) []byte {
	blk, err := aes.NewCipher(key)
	if err != nil {
		panic(err)
	}
	pad := aes.BlockSize - len(pt)%aes.BlockSize
	buf := append(append([]byte{}, pt...), make([]byte, pad)...)
	for i := len(pt); i < len(buf); i++ {
		buf[i] = byte(pad)
	}
	cipher.NewCBCEncrypter(blk, iv).CryptBlocks(buf, buf)
	return buf
}

func cbcDecrypt(key, iv, ct []byte) []byte {
	blk, err := aes.NewCipher(key)
	if err != nil {
		panic(err)
	}
	if len(ct) == 0 || len(ct)%aes.BlockSize != 0 {
		return nil
	}
	buf := make([]byte, len(ct))
	cipher.NewCBCDecrypter(blk, iv).CryptBlocks(buf, ct)
	pad := int(buf[len(buf)-1])
	if pad == 0 || pad > aes.BlockSize {
		return nil
	}
	return buf[:len(buf)-pad]
}

type (
	signerResponse = signer.Response
	signerExchange = signer.Exchange
	secretValue    = secret.Value
)

var secretFromString = secret.FromString
