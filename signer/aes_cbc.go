package signer

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/subtle"
)

// cbcParams are aes_cbc's: AES-CBC with PKCS#5/7 padding and a configured IV.
type cbcParams struct {
	aesParams
	IV string `json:"iv"` // secret name of the 16-byte IV
}

// cbcMode is AES-CBC with a fixed IV read from the keystore, as the providers that use it
// specify (the article's aes_cbc_pkcs5_encrypt(key, data, iv)).
type cbcMode struct {
	s  *aesStep
	iv string
}

func newAESCBC(b Build) (Step, error) {
	var p cbcParams
	if err := decodeParams(b, &p); err != nil {
		return nil, err
	}
	s, err := buildAES(b, p.aesParams)
	if err != nil {
		return nil, err
	}
	if err := requireParamSecret(b, "iv", p.IV, true); err != nil {
		return nil, err
	}
	s.mode = cbcMode{s: s, iv: p.IV}
	return s, nil
}

func (m cbcMode) seal(ctx context.Context, x *Exchange, key, plain []byte) ([]byte, error) {
	iv, err := m.s.keyBytes(ctx, x, "encrypt", m.iv, aes.BlockSize)
	if err != nil {
		return nil, err
	}
	block, _ := aes.NewCipher(key) // the key length was checked
	pad := aes.BlockSize - len(plain)%aes.BlockSize
	out := make([]byte, len(plain)+pad)
	copy(out, plain)
	for i := len(plain); i < len(out); i++ {
		out[i] = byte(pad)
	}
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(out, out)
	return out, nil
}

func (m cbcMode) open(ctx context.Context, x *Exchange, key, ct []byte) ([]byte, error) {
	iv, err := m.s.keyBytes(ctx, x, "decrypt", m.iv, aes.BlockSize)
	if err != nil {
		return nil, err
	}
	if len(ct) == 0 || len(ct)%aes.BlockSize != 0 {
		return nil, errDecrypt
	}
	block, _ := aes.NewCipher(key)
	out := make([]byte, len(ct))
	cipher.NewCBCDecrypter(block, iv).CryptBlocks(out, ct)
	n, ok := unpadPKCS7(out)
	if !ok {
		return nil, errDecrypt
	}
	return out[:n], nil
}

// unpadPKCS7 checks the padding over the whole last block without an early exit on the pad
// bytes, and returns the plaintext length.
func unpadPKCS7(b []byte) (int, bool) {
	pad := int(b[len(b)-1])
	good := subtle.ConstantTimeLessOrEq(1, pad) & subtle.ConstantTimeLessOrEq(pad, aes.BlockSize)
	last := b[len(b)-aes.BlockSize:]
	for i := range aes.BlockSize {
		inPad := subtle.ConstantTimeLessOrEq(aes.BlockSize-pad, i)
		match := subtle.ConstantTimeByteEq(last[i], byte(pad))
		good &= subtle.ConstantTimeSelect(inPad, match, 1)
	}
	return len(b) - pad, good == 1
}
