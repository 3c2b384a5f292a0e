package signer

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/subtle"
	"slices"

	"github.com/keygate/keygate/internal/failure"
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

func (m cbcMode) seal(ctx context.Context, x *Exchange, dst, key, plain []byte) ([]byte, error) {
	iv, err := m.s.keyBytes(ctx, x, "encrypt", m.iv, aes.BlockSize)
	if err != nil {
		return nil, err
	}
	c := m.s.keyed(key) // the key length was checked
	mode := c.cbc(true, iv)
	dst = appendSealCBCMode(dst, mode, plain)
	c.release(true, mode)
	return dst, nil
}

// SealCBC encrypts plain with AES-CBC and PKCS#7 padding (Java's "PKCS5Padding"). The built-in
// scheme and custom mode's aes_cbc_pkcs5_encrypt both use it.
func SealCBC(block cipher.Block, iv, plain []byte) []byte {
	return appendSealCBC(nil, block, iv, plain)
}

// SealCBCString is SealCBC of a string, copied once, straight into the ciphertext's buffer:
// custom mode encrypts a script's string without converting it to bytes first.
func SealCBCString(block cipher.Block, iv []byte, plain string) []byte {
	return appendSealCBCMode(nil, cipher.NewCBCEncrypter(block, iv), plain)
}

// appendSealCBC is SealCBC appending to dst (which must not overlap plain).
func appendSealCBC(dst []byte, block cipher.Block, iv, plain []byte) []byte {
	return appendSealCBCMode(dst, cipher.NewCBCEncrypter(block, iv), plain)
}

// appendSealCBCMode is appendSealCBC with the CBC encrypter (and its IV) given.
func appendSealCBCMode[T string | []byte](dst []byte, mode cipher.BlockMode, plain T) []byte {
	pad := aes.BlockSize - len(plain)%aes.BlockSize
	n := len(dst)
	dst = slices.Grow(dst, len(plain)+pad)
	dst = append(dst, plain...)
	for range pad {
		dst = append(dst, byte(pad))
	}
	out := dst[n:]
	mode.CryptBlocks(out, out)
	return dst
}

// OpenCBC decrypts ct with AES-CBC and removes its PKCS#7 padding; ok is false for a length
// that is not a positive multiple of the block or for bad padding (checked in constant time).
func OpenCBC(block cipher.Block, iv, ct []byte) (plain []byte, ok bool) {
	if len(ct) == 0 || len(ct)%aes.BlockSize != 0 {
		return nil, false
	}
	return OpenCBCInPlace(block, iv, slices.Clone(ct))
}

// OpenCBCInPlace is OpenCBC decrypting ct's own memory: plain aliases ct, which the caller
// wipes (custom mode decrypts in a runtime's scratch buffer and copies the plaintext once,
// into the string the script gets).
func OpenCBCInPlace(block cipher.Block, iv, ct []byte) (plain []byte, ok bool) {
	if len(ct) == 0 || len(ct)%aes.BlockSize != 0 {
		return nil, false
	}
	return openCBCModeInPlace(cipher.NewCBCDecrypter(block, iv), ct)
}

// openCBCModeInPlace is OpenCBCInPlace with the CBC decrypter (and its IV) given; ct is a
// positive multiple of the block.
func openCBCModeInPlace(mode cipher.BlockMode, ct []byte) (plain []byte, ok bool) {
	mode.CryptBlocks(ct, ct)
	n, ok := unpadPKCS7(ct)
	if !ok {
		return nil, false
	}
	return ct[:n], true
}

func (m cbcMode) open(ctx context.Context, x *Exchange, key, ct []byte) ([]byte, error) {
	if x.Response != nil && x.Response.Chosen {
		// Decrypting a ciphertext the caller chose under the fixed IV gives D(C1) xor IV: with a
		// second block of C1 it gives the IV (Response.Chosen).
		return nil, failure.New(failure.BadRequest, "decrypt", "the caller chose this response (a pasted answer in a dry run by a role that may not see secrets): it is not decrypted under the secret IV")
	}
	iv, err := m.s.keyBytes(ctx, x, "decrypt", m.iv, aes.BlockSize)
	if err != nil {
		return nil, err
	}
	if len(ct) == 0 || len(ct)%aes.BlockSize != 0 {
		return nil, errDecrypt
	}
	c := m.s.keyed(key)
	mode := c.cbc(false, iv)
	out, ok := openCBCModeInPlace(mode, ct) // ct is open's own decoded buffer
	c.release(false, mode)
	if !ok {
		return nil, errDecrypt
	}
	return out, nil
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
