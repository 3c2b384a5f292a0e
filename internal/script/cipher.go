package script

import (
	"crypto/aes"
	"crypto/cipher"
	"fmt"
	"strings"

	"github.com/dop251/goja"

	"github.com/keygate/keygate/internal/failure"
	"github.com/keygate/keygate/signer"
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

// cipherParams reveals key and IV and checks the rules above: check (the built-in's own size
// rules) first, then the IV binding, so that a call refused for a bad size binds nothing.
// done wipes the revealed bytes; when anything throws they are wiped before it leaves.
func (st *callState) cipherParams(fn string, key, iv goja.Value, check func(k, v []byte, kSec, vSec bool)) (k, v []byte, done func()) {
	if missing(iv) {
		st.typeError("%s: the IV is missing", fn)
	}
	var kSec, vSec bool
	done = func() { wipe(k, kSec); wipe(v, vSec) }
	ok := false
	defer func() {
		if !ok {
			done()
		}
	}()
	k, kSec = st.bytesArg(fn, key, keyHandle, fn+" key")
	v, vSec = st.bytesArg(fn, iv, keyHandle, fn+" iv")
	if vSec && !kSec {
		st.violate("the IV of " + fn + " under a non-secret key")
	}
	check(k, v, kSec, vSec)
	if kSec {
		ivKind := "plain"
		if vSec {
			ivKind = st.handleShape(iv.String())
		}
		if prev, loaded := st.step.ivBinding.LoadOrStore(st.handleShape(key.String()), ivKind); loaded && prev != ivKind {
			st.throw(failure.New(failure.Internal, "script",
				"%s: a secret key must always be used with the same IV (first %s, now %s)", fn, prev, ivKind))
		}
	}
	ok = true
	return k, v, done
}

// sizeOf is ", got N bytes" for a value the script knows, nothing for a secret: an error must
// not tell a secret's length.
func sizeOf(b []byte, secret bool) string {
	if secret {
		return ""
	}
	return fmt.Sprintf(", got %d bytes", len(b))
}

// handleShape renders s with each marker replaced by {secret name} ({} for a token): a
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

func (st *callState) block(fn string, k []byte, kSec bool) cipher.Block {
	blk, err := aes.NewCipher(k)
	if err != nil {
		st.typeError("%s: the key must be 16, 24 or 32 bytes%s", fn, sizeOf(k, kSec))
	}
	return blk
}

// cbcParams is the key (argument 0) and IV (argument 2) of an AES-CBC built-in, checked; done
// wipes the revealed bytes.
func (st *callState) cbcParams(fn string, c goja.FunctionCall) (blk cipher.Block, iv []byte, done func()) {
	_, iv, done = st.cipherParams(fn, arg(c, 0), arg(c, 2), func(k, v []byte, kSec, vSec bool) {
		blk = st.block(fn, k, kSec)
		if len(v) != aes.BlockSize {
			st.typeError("%s: the IV must be 16 bytes%s", fn, sizeOf(v, vSec))
		}
	})
	return blk, iv, done
}

func (st *callState) installCiphers(g *goja.Object) {
	_ = g.Set("aes_cbc_pkcs5_encrypt", func(c goja.FunctionCall) goja.Value {
		const fn = "aes_cbc_pkcs5_encrypt"
		blk, iv, done := st.cbcParams(fn, c)
		defer done()
		pt := st.plainBytes(fn, arg(c, 1), "the plaintext of "+fn)
		return st.bytesValue(signer.SealCBC(blk, iv, pt))
	})
	_ = g.Set("aes_cbc_pkcs5_decrypt", func(c goja.FunctionCall) goja.Value {
		const fn = "aes_cbc_pkcs5_decrypt"
		blk, iv, done := st.cbcParams(fn, c)
		defer done()
		ct := st.plainBytes(fn, arg(c, 1), "the ciphertext of "+fn)
		if len(ct) == 0 || len(ct)%aes.BlockSize != 0 {
			st.throw(failure.New(failure.BadGateway, "decrypt", "%s: ciphertext length %d is not a positive multiple of 16", fn, len(ct)))
		}
		pt, ok := signer.OpenCBC(blk, iv, ct)
		if !ok {
			st.throw(failure.New(failure.BadGateway, "decrypt", "%s: bad padding", fn))
		}
		return st.rt.ToValue(string(pt))
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
func (st *callState) gcm(fn string, c goja.FunctionCall) (aead cipher.AEAD, nonce []byte, done func()) {
	_, nonce, done = st.cipherParams(fn, arg(c, 0), arg(c, 2), func(k, v []byte, kSec, vSec bool) {
		var err error
		aead, err = cipher.NewGCMWithNonceSize(st.block(fn, k, kSec), max(len(v), 1))
		if err != nil || len(v) == 0 {
			st.typeError("%s: bad nonce%s", fn, sizeOf(v, vSec))
		}
	})
	return aead, nonce, done
}

func (st *callState) aad(fn string, c goja.FunctionCall) []byte {
	if v := arg(c, 3); !missing(v) {
		return st.plainBytes(fn, v, "the additional data of "+fn)
	}
	return nil
}
