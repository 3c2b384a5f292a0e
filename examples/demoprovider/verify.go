package demoprovider

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
)

// verifySigned checks the article's signature: upper(hex(sha256(sorted pairs + secret))). It is
// written independently of keygate's signer on purpose. The fields are returned as text.
func (p *Provider) verifySigned(body []byte, secret string) (map[string]string, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var raw map[string]any
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("body is not a JSON object")
	}
	fields := map[string]string{}
	for k, v := range raw {
		switch t := v.(type) {
		case string:
			fields[k] = t
		case json.Number:
			fields[k] = t.String()
		case nil:
		default:
			b, _ := json.Marshal(t)
			fields[k] = string(b)
		}
	}
	if fields["appKey"] != p.creds.AppKey {
		return nil, errors.New("unknown appKey")
	}
	keys := make([]string, 0, len(fields))
	for k, v := range fields {
		if k != "sign" && v != "" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	pairs := make([]string, len(keys))
	for i, k := range keys {
		pairs[i] = k + "=" + fields[k]
	}
	sum := sha256.Sum256([]byte(strings.Join(pairs, "&") + secret))
	want := strings.ToUpper(hex.EncodeToString(sum[:]))
	if subtle.ConstantTimeCompare([]byte(want), []byte(fields["sign"])) != 1 {
		return nil, errors.New("sign does not verify")
	}
	return fields, nil
}

func decryptField(c Credentials, b64 string) (string, error) {
	ct, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(ct) == 0 || len(ct)%aes.BlockSize != 0 {
		return "", errors.New("not base64 AES-CBC ciphertext")
	}
	block, err := aes.NewCipher(c.AESKey)
	if err != nil {
		return "", err
	}
	plain := make([]byte, len(ct))
	cipher.NewCBCDecrypter(block, c.AESIV).CryptBlocks(plain, ct)
	n := int(plain[len(plain)-1])
	if n == 0 || n > aes.BlockSize || n > len(plain) {
		return "", errors.New("bad padding")
	}
	for _, b := range plain[len(plain)-n:] {
		if int(b) != n {
			return "", errors.New("bad padding")
		}
	}
	return string(plain[:len(plain)-n]), nil
}

func encryptField(c Credentials, plain []byte) (string, error) {
	block, err := aes.NewCipher(c.AESKey)
	if err != nil {
		return "", err
	}
	n := aes.BlockSize - len(plain)%aes.BlockSize
	padded := append(bytes.Clone(plain), bytes.Repeat([]byte{byte(n)}, n)...)
	cipher.NewCBCEncrypter(block, c.AESIV).CryptBlocks(padded, padded)
	return base64.StdEncoding.EncodeToString(padded), nil
}
