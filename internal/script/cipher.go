package script

import (
	"crypto/aes"
	"crypto/cipher"
	"fmt"

	"github.com/dop251/goja"

	"github.com/keygate/keygate/internal/failure"
	"github.com/keygate/keygate/signer"
)

// Cipher built-ins. The key may be an aes_key secret, alone; the IV or nonce may be the iv secret
// declared with that key, alone; the plaintext of an encryption, the ciphertext of a decryption
// and the additional data hold no secret (roles.go, positions.go). Three more rules close the
// oracles a chosen input would open:
//
//   - a secret key is bound, on its first use, to one mode and one IV (its iv secret, or
//     "plain IVs"); using it otherwise fails. Decrypting one block under the secret IV and under
//     a known IV (or in another mode) would reveal the IV by XOR.
//   - decrypting under a secret IV takes only a ciphertext the provider sent: in the response
//     function, the decoding (raw, hex, base64) of a whole string of the response body. CBC
//     decryption of a chosen ciphertext gives D_K(C) ^ IV for the first block and D_K(C) ^ C'
//     for a later one: two such calls give the IV.
//   - a failure under a secret key (bad padding, failed authentication, a bad size) fails the
//     request: a script that could catch it would have a padding oracle.

// cipherParams reveals key and IV and checks the rules above: check (the built-in's own size
// rules) first, then the binding, so that a call refused for a bad size binds nothing. done
// wipes the revealed bytes; when anything throws they are wiped before it leaves.
func (st *callState) cipherParams(fn, mode string, key, iv goja.Value, check func(k, v []byte, kSec, vSec bool)) (k, v []byte, ivSecret bool, done func()) {
	if missing(iv) {
		st.typeError("%s: the IV is missing", fn)
	}
	var keyName, ivName string
	done = func() { wipe(k, keyName != ""); wipe(v, ivName != "") }
	ok := false
	defer func() {
		if !ok {
			done()
		}
	}()
	k, keyName = st.aesKeyArg(fn, key)
	v, ivName = st.ivArg(fn, iv, keyName)
	check(k, v, keyName != "", ivName != "")
	if keyName != "" {
		bound := mode + " with plain IVs"
		if ivName != "" {
			bound = mode + " with IV " + ivName
		}
		if prev, loaded := st.step.ivBinding.LoadOrStore(keyName, bound); loaded && prev != bound {
			st.fatal(failure.New(failure.Internal, "script",
				"%s: a secret key must always be used in the same mode with the same IV (first %s, now %s)", fn, prev, bound))
		}
	}
	ok = true
	return k, v, ivName != "", done
}

// sizeError reports a bad key, IV or ciphertext size: catchable when every input is known to
// the script, uncatchable under a secret key.
func (st *callState) sizeError(secretKey bool, format string, args ...any) {
	if secretKey {
		st.fatal(failure.New(failure.Internal, "script", format, args...))
	}
	st.typeError(format, args...)
}

// sizeOf is ", got N bytes" for a value the script knows, nothing for a secret: an error must
// not tell a secret's length.
func sizeOf(b []byte, secret bool) string {
	if secret {
		return ""
	}
	return fmt.Sprintf(", got %d bytes", len(b))
}

func (st *callState) block(fn string, k []byte, kSec bool) cipher.Block {
	blk, err := aes.NewCipher(k)
	if err != nil {
		st.sizeError(kSec, "%s: the key must be 16, 24 or 32 bytes%s", fn, sizeOf(k, kSec))
	}
	return blk
}

// cbcParams is the key (argument 0) and IV (argument 2) of an AES-CBC built-in, checked; done
// wipes the revealed bytes.
func (st *callState) cbcParams(fn string, c goja.FunctionCall) (blk cipher.Block, iv []byte, kSec, ivSec bool, done func()) {
	_, iv, ivSec, done = st.cipherParams(fn, "cbc", arg(c, 0), arg(c, 2), func(k, v []byte, ks, vs bool) {
		kSec = ks
		blk = st.block(fn, k, ks)
		if len(v) != aes.BlockSize {
			st.sizeError(ks, "%s: the IV must be 16 bytes%s", fn, sizeOf(v, vs))
		}
	})
	return blk, iv, kSec, ivSec, done
}

// decryptFailed fails a decryption: uncatchably under a secret key.
func (st *callState) decryptFailed(kSec bool, format string, args ...any) {
	err := failure.New(failure.BadGateway, "decrypt", format, args...)
	if kSec {
		st.fatal(err)
	}
	st.throw(err)
}

func (st *callState) installCiphers(g *goja.Object) {
	_ = g.Set("aes_cbc_pkcs5_encrypt", func(c goja.FunctionCall) goja.Value {
		const fn = "aes_cbc_pkcs5_encrypt"
		blk, iv, _, _, done := st.cbcParams(fn, c)
		defer done()
		s, pt, isBin := st.plainText(fn, arg(c, 1), "the plaintext")
		if !isBin { // a string goes straight into the ciphertext's buffer, not through a copy
			st.charge(len(s) + aes.BlockSize)
			return st.bytesValue(signer.SealCBCString(blk, iv, s))
		}
		st.charge(len(pt) + aes.BlockSize)
		return st.bytesValue(signer.SealCBC(blk, iv, pt))
	})
	_ = g.Set("aes_cbc_pkcs5_decrypt", func(c goja.FunctionCall) goja.Value {
		const fn = "aes_cbc_pkcs5_decrypt"
		blk, iv, kSec, ivSec, done := st.cbcParams(fn, c)
		defer done()
		ct := st.plainBytes(fn, arg(c, 1), "the ciphertext") // the last argument read: no script code runs from the check to the copy below
		if ivSec {
			st.providerCiphertext(fn, ct)
		}
		if len(ct) == 0 || len(ct)%aes.BlockSize != 0 {
			st.decryptFailed(kSec, "%s: ciphertext length %d is not a positive multiple of 16", fn, len(ct))
		}
		st.charge(len(ct))
		// Decrypted in the scratch buffer (ct is the script's own, left as it is), the plaintext
		// copied once, into the script's string; the buffer is wiped when it comes back.
		buf := st.borrow(len(ct))
		defer st.giveBack(buf, len(ct))
		pt, ok := signer.OpenCBCInPlace(blk, iv, append(buf, ct...))
		if !ok {
			st.decryptFailed(kSec, "%s: bad padding", fn)
		}
		return st.rt.ToValue(string(pt))
	})
	_ = g.Set("aes_gcm_encrypt", func(c goja.FunctionCall) goja.Value {
		const fn = "aes_gcm_encrypt"
		aead, nonce, _, _, done := st.gcm(fn, c)
		defer done()
		pt := st.plainBytes(fn, arg(c, 1), "the plaintext")
		st.charge(len(pt) + aead.Overhead())
		return st.bytesValue(aead.Seal(nil, nonce, pt, st.aad(fn, c)))
	})
	_ = g.Set("aes_gcm_decrypt", func(c goja.FunctionCall) goja.Value {
		const fn = "aes_gcm_decrypt"
		aead, nonce, kSec, nSec, done := st.gcm(fn, c)
		defer done()
		ct := st.plainBytes(fn, arg(c, 1), "the ciphertext")
		// The additional data is read before the check: reading an argument may run the script
		// (a byteLength getter), which could rewrite a Uint8Array ciphertext, which ct is, after
		// it passed (TestRedTeamCiphertextChangedAfterTheProvenanceCheck). From the check to
		// the decryption no script code runs.
		aad := st.aad(fn, c)
		if nSec {
			st.providerCiphertext(fn, ct)
		}
		st.charge(len(ct))
		pt, err := aead.Open(nil, nonce, ct, aad)
		if err != nil {
			st.decryptFailed(kSec, "%s: authentication failed", fn)
		}
		return st.rt.ToValue(string(pt))
	})
}

// gcm builds the AEAD from (key, _, nonce[, aad]); done wipes the revealed key and nonce.
func (st *callState) gcm(fn string, c goja.FunctionCall) (aead cipher.AEAD, nonce []byte, kSec, nSec bool, done func()) {
	_, nonce, nSec, done = st.cipherParams(fn, "gcm", arg(c, 0), arg(c, 2), func(k, v []byte, ks, vs bool) {
		kSec = ks
		var err error
		aead, err = cipher.NewGCMWithNonceSize(st.block(fn, k, ks), max(len(v), 1))
		if err != nil || len(v) == 0 {
			st.sizeError(ks, "%s: bad nonce%s", fn, sizeOf(v, vs))
		}
	})
	return aead, nonce, kSec, nSec, done
}

func (st *callState) aad(fn string, c goja.FunctionCall) []byte {
	if v := arg(c, 3); !missing(v) {
		return st.plainBytes(fn, v, "the additional data")
	}
	return nil
}
