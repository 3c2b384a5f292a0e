package script

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"strings"

	"github.com/dop251/goja"

	"github.com/keygate/keygate/internal/failure"
)

// Cipher built-ins. The key and IV may be secret handles; the plaintext of an encryption and the
// ciphertext of a decryption may not (else decrypting what was encrypted would hand the secret
// back as plain text). Two more rules close the IV oracles:
//
//   - a secret IV needs a secret key: with a key the script knows, the IV falls out of one
//     decryption;
//   - a secret key is bound, on its first use, to the IV it is used with (a given IV handle
//     expression, or "plain IVs"); using it with another IV fails. Decrypting the same block
//     under one key with a secret IV and with a known IV would reveal the secret IV by XOR.

// cipherParams reveals key and IV and checks the rules above. The caller wipes both.
func (st *callState) cipherParams(fn string, key, iv goja.Value) (k, v []byte, kSec, vSec bool) {
	k, kSec = st.bytesArg(fn, key, keyHandle, fn+" key")
	if missing(iv) {
		st.typeError("%s: the IV is missing", fn)
	}
	v, vSec = st.bytesArg(fn, iv, keyHandle, fn+" iv")
	if vSec && !kSec {
		wipe(k, kSec)
		wipe(v, vSec)
		st.violate("the IV of " + fn + " under a non-secret key")
	}
	if kSec {
		ivKind := "plain"
		if vSec {
			ivKind = st.handleShape(iv.String())
		}
		if prev, loaded := st.step.ivBinding.LoadOrStore(st.handleShape(key.String()), ivKind); loaded && prev != ivKind {
			wipe(k, kSec)
			wipe(v, vSec)
			st.throw(failure.New(failure.Internal, "script",
				"%s: a secret key must always be used with the same IV (first %s, now %s)", fn, prev, ivKind))
		}
	}
	return k, v, kSec, vSec
}

// handleShape renders s with each marker replaced by {secret name} ({token}, {derived}): a
// stable, value-free description of a secret expression.
func (st *callState) handleShape(s string) string {
	var b strings.Builder
	for {
		i := indexMarkerStart(s)
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i])
		n, l, err := st.handles.lookup(s[i:])
		if err != nil {
			return b.String() + "{?}"
		}
		b.WriteString("{" + st.handles.list[n].name + "}")
		s = s[i+l:]
	}
}

func (st *callState) block(fn string, k []byte) cipher.Block {
	blk, err := aes.NewCipher(k)
	if err != nil {
		st.typeError("%s: the key must be 16, 24 or 32 bytes, got %d", fn, len(k))
	}
	return blk
}

// cbcParams is the key (argument 0) and IV (argument 2) of an AES-CBC built-in, checked; done
// wipes the revealed bytes.
func (st *callState) cbcParams(fn string, c goja.FunctionCall) (blk cipher.Block, iv []byte, done func()) {
	k, iv, kSec, vSec := st.cipherParams(fn, arg(c, 0), arg(c, 2))
	done = func() { wipe(k, kSec); wipe(iv, vSec) }
	defer func() { // a bad key or IV throws into the script: wipe first
		if r := recover(); r != nil {
			done()
			panic(r)
		}
	}()
	blk = st.block(fn, k)
	if len(iv) != aes.BlockSize {
		st.typeError("%s: the IV must be 16 bytes, got %d", fn, len(iv))
	}
	return blk, iv, done
}

func (st *callState) installCiphers(g *goja.Object) {
	_ = g.Set("aes_cbc_pkcs5_encrypt", func(c goja.FunctionCall) goja.Value {
		const fn = "aes_cbc_pkcs5_encrypt"
		blk, iv, done := st.cbcParams(fn, c)
		defer done()
		pt := st.plainBytes(fn, arg(c, 1), "the plaintext of "+fn)
		pad := aes.BlockSize - len(pt)%aes.BlockSize
		buf := make([]byte, len(pt), len(pt)+pad)
		copy(buf, pt)
		buf = append(buf, bytes.Repeat([]byte{byte(pad)}, pad)...)
		cipher.NewCBCEncrypter(blk, iv).CryptBlocks(buf, buf)
		return st.bytesValue(buf)
	})
	_ = g.Set("aes_cbc_pkcs5_decrypt", func(c goja.FunctionCall) goja.Value {
		const fn = "aes_cbc_pkcs5_decrypt"
		blk, iv, done := st.cbcParams(fn, c)
		defer done()
		ct := st.plainBytes(fn, arg(c, 1), "the ciphertext of "+fn)
		if len(ct) == 0 || len(ct)%aes.BlockSize != 0 {
			st.throw(failure.New(failure.BadGateway, "decrypt", "%s: ciphertext length %d is not a positive multiple of 16", fn, len(ct)))
		}
		buf := make([]byte, len(ct))
		cipher.NewCBCDecrypter(blk, iv).CryptBlocks(buf, ct)
		pad := int(buf[len(buf)-1])
		if pad == 0 || pad > aes.BlockSize || !bytes.Equal(buf[len(buf)-pad:], bytes.Repeat([]byte{byte(pad)}, pad)) {
			st.throw(failure.New(failure.BadGateway, "decrypt", "%s: bad padding", fn))
		}
		return st.rt.ToValue(string(buf[:len(buf)-pad]))
	})
	_ = g.Set("aes_gcm_encrypt", func(c goja.FunctionCall) goja.Value {
		const fn = "aes_gcm_encrypt"
		aead, nonce, done := st.gcm(fn, c)
		defer done()
		pt := st.plainBytes(fn, arg(c, 1), "the plaintext of "+fn)
		return st.bytesValue(aead.Seal(nil, nonce, pt, st.aad(fn, c)))
	})
	_ = g.Set("aes_gcm_decrypt", func(c goja.FunctionCall) goja.Value {
		const fn = "aes_gcm_decrypt"
		aead, nonce, done := st.gcm(fn, c)
		defer done()
		ct := st.plainBytes(fn, arg(c, 1), "the ciphertext of "+fn)
		pt, err := aead.Open(nil, nonce, ct, st.aad(fn, c))
		if err != nil {
			st.throw(failure.New(failure.BadGateway, "decrypt", "%s: authentication failed", fn))
		}
		return st.rt.ToValue(string(pt))
	})
}

// gcm builds the AEAD from (key, _, nonce[, aad]); done wipes the revealed key and nonce.
func (st *callState) gcm(fn string, c goja.FunctionCall) (cipher.AEAD, []byte, func()) {
	k, nonce, kSec, vSec := st.cipherParams(fn, arg(c, 0), arg(c, 2))
	done := func() { wipe(k, kSec); wipe(nonce, vSec) }
	ok := false
	defer func() {
		if !ok {
			done() // a panic (a thrown TypeError) leaves before the caller can defer done
		}
	}()
	aead, err := cipher.NewGCMWithNonceSize(st.block(fn, k), max(len(nonce), 1))
	if err != nil || len(nonce) == 0 {
		done()
		st.typeError("%s: bad nonce of %d bytes", fn, len(nonce))
	}
	ok = true
	return aead, nonce, done
}

func (st *callState) aad(fn string, c goja.FunctionCall) []byte {
	if v := arg(c, 3); !missing(v) {
		return st.plainBytes(fn, v, "the additional data of "+fn)
	}
	return nil
}
