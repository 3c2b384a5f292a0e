package script

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"hash"

	"github.com/dop251/goja"

	"github.com/keygate/keygate/internal/failure"
)

var hashes = map[string]func() hash.Hash{
	"md5": md5.New, "sha1": sha1.New, "sha256": sha256.New, "sha512": sha512.New,
}

// digestOutputs are the three ways a digest returns: hex (the default), base64, raw bytes.
var digestOutputs = []string{"", "_base64", "_bytes"}

func (st *callState) digestValue(sum []byte, suffix string) goja.Value {
	switch suffix {
	case "_base64":
		return st.rt.ToValue(base64.StdEncoding.EncodeToString(sum))
	case "_bytes":
		return st.bytesValue(sum)
	}
	return st.rt.ToValue(hex.EncodeToString(sum))
}

// installDigests defines md5/sha1/sha256/sha512(data) and hmac_sha1/sha256/sha512(key, data),
// each with _base64 and _bytes variants. Secret handles in data and key are replaced by their
// bytes; digests and MACs are not secret.
func (st *callState) installDigests(g *goja.Object) {
	for name, newHash := range hashes {
		for _, suffix := range digestOutputs {
			fn := name + suffix
			_ = g.Set(fn, func(c goja.FunctionCall) goja.Value {
				data, sec := st.bytesArg(fn, arg(c, 0), keyHandle|tokenHandle, fn)
				h := newHash()
				h.Write(data)
				wipe(data, sec)
				return st.digestValue(h.Sum(nil), suffix)
			})
			if name == "md5" {
				continue
			}
			hfn := "hmac_" + name + suffix
			_ = g.Set(hfn, func(c goja.FunctionCall) goja.Value {
				return st.digestValue(st.hmac(hfn, name, newHash, arg(c, 0), arg(c, 1)), suffix)
			})
		}
	}
}

// hmac computes a MAC. A key that is exactly one named secret goes through signer.Keys.HMAC
// (Vault Transit when the reference is a transit key); any other key is revealed locally.
func (st *callState) hmac(fn, hashName string, newHash func() hash.Hash, key, data goja.Value) []byte {
	msg, msgSec := st.bytesArg(fn, data, keyHandle|tokenHandle, fn)
	defer wipe(msg, msgSec)
	if !missing(key) {
		if h, ok := st.handles.only(key.String()); ok && h.name != "" && st.x.Keys != nil {
			var sum []byte
			var err error
			st.outside(func() { sum, err = st.x.Keys.HMAC(st.ctx, st.x, h.name, hashName, msg) })
			if err != nil {
				st.throw(failure.Wrap(failure.Unavailable, "keystore", err, "hmac with "+h.name))
			}
			return sum
		}
	}
	k, kSec := st.bytesArg(fn, key, keyHandle|tokenHandle, fn)
	defer wipe(k, kSec)
	m := hmac.New(newHash, k)
	m.Write(msg)
	return m.Sum(nil)
}

// installSigners defines rsa_sign and ecdsa_sign(key, data[, hash]): key is a secret name or a
// handle of one (secret("private_key")); the signature is returned as bytes.
func (st *callState) installSigners(g *goja.Object) {
	for _, fn := range []string{"rsa_sign", "ecdsa_sign"} {
		_ = g.Set(fn, func(c goja.FunctionCall) goja.Value {
			name := st.keyName(fn, arg(c, 0))
			data, sec := st.bytesArg(fn, arg(c, 1), keyHandle|tokenHandle, fn)
			defer wipe(data, sec)
			hashName := "sha256"
			if v := arg(c, 2); !missing(v) {
				hashName = v.String()
			}
			if st.x.Keys == nil {
				st.throw(failure.New(failure.Internal, "script", "%s: no keys", fn))
			}
			var sig []byte
			var err error
			st.outside(func() { sig, err = st.x.Keys.Sign(st.ctx, st.x, name, hashName, data) })
			if err != nil {
				st.throw(failure.Wrap(failure.Unavailable, "keystore", err, fn+" with "+name))
			}
			return st.bytesValue(sig)
		})
	}
}

// keyName resolves a key argument to the provider's secret name.
func (st *callState) keyName(fn string, v goja.Value) string {
	if missing(v) {
		st.typeError("%s: the key name is missing", fn)
	}
	s := v.String()
	if h, ok := st.handles.only(s); ok && h.name != "" {
		return h.name
	}
	if hasMarker(s) {
		st.typeError("%s: the key must be a secret name or a handle from secret()", fn)
	}
	st.declared(fn, s)
	return s
}

// declared throws unless the provider declares the secret name.
func (st *callState) declared(fn, name string) {
	if _, ok := st.step.secrets[name]; !ok {
		st.typeError("%s: the provider declares no secret %q", fn, name)
	}
}
