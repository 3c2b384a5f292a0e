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
		return st.rt.ToValue(st.encodeString(base64.StdEncoding, sum))
	case "_bytes":
		return st.bytesValue(sum)
	}
	return st.rt.ToValue(st.encodeString(nil, sum))
}

// installDigests defines md5/sha1/sha256/sha512(data) and hmac_md5/sha1/sha256/sha512(key, data),
// each with _base64 and _bytes variants. Secret handles in data and key are replaced by their
// bytes where their role allows it (positions.go); digests and final MACs are not secret.
func (st *callState) installDigests(g *goja.Object) {
	for name, newHash := range hashes {
		for _, suffix := range digestOutputs {
			fn := name + suffix
			_ = g.Set(fn, func(c goja.FunctionCall) goja.Value {
				h := newHash()
				st.writeData(fn, "the data", arg(c, 0), h)
				return st.digestValue(h.Sum(nil), suffix)
			})
			hfn := "hmac_" + name + suffix
			_ = g.Set(hfn, func(c goja.FunctionCall) goja.Value {
				return st.hmac(hfn, name, newHash, suffix, arg(c, 0), arg(c, 1))
			})
		}
	}
}

// hmac computes a MAC. A key that is exactly one named secret goes through signer.Keys.HMAC
// (Vault Transit when the reference is a transit key); any other key is revealed locally.
// Under a secret key, the outputs of the first chain-1 HMACs of the key's chain are key
// material: they come back as handles (in the encoding asked for) usable only as the next
// HMAC key; the last one's is the signature, plain.
func (st *callState) hmac(fn, hashName string, newHash func() hash.Hash, suffix string, key, data goja.Value) goja.Value {
	msg, msgSec := st.dataArg(fn, "the data", data)
	defer wipe(msg, msgSec)
	if missing(key) {
		st.typeError("%s: the key is missing", fn)
	}
	k, h, root := st.hmacKeyArg(fn, key)
	var sum []byte
	if root && st.x.Keys != nil && hashName != "md5" { // Keys.HMAC (and Transit) has no MD5
		wipe(k, true)
		var err error
		st.outside(func() { sum, err = st.x.Keys.HMAC(st.ctx, st.x, h.name, hashName, msg) })
		if err != nil {
			st.fatal(failure.Wrap(failure.Unavailable, "keystore", err, "hmac with "+h.name))
		}
	} else {
		m := hmac.New(newHash, k)
		wipe(k, h != nil)
		m.Write(msg)
		sum = m.Sum(nil)
	}
	if h == nil || h.depth+1 >= st.roleOf(h, roleHMACKey).chainLen() {
		return st.digestValue(sum, suffix)
	}
	var out []byte
	switch suffix {
	case "_base64":
		out = []byte(base64.StdEncoding.EncodeToString(sum))
	case "_bytes":
		out = sum
	default:
		out = []byte(hex.EncodeToString(sum))
	}
	return st.derived(h.name, roleHMACKey, h.depth+1, out)
}

// installSigners defines rsa_sign and ecdsa_sign(key, data[, hash]): key is a secret name or a
// handle of one (secret("private_key")); the signature is returned as bytes.
func (st *callState) installSigners(g *goja.Object) {
	for _, fn := range []string{"rsa_sign", "ecdsa_sign"} {
		_ = g.Set(fn, func(c goja.FunctionCall) goja.Value {
			name := st.keyName(fn, arg(c, 0))
			data, sec := st.dataArg(fn, "the data", arg(c, 1))
			defer wipe(data, sec)
			hashName := "sha256"
			if v := arg(c, 2); !missing(v) {
				hashName = st.plain(v, fn+" hash")
			}
			if st.x.Keys == nil {
				st.throw(failure.New(failure.Internal, "script", "%s: no keys", fn))
			}
			var sig []byte
			var err error
			st.outside(func() { sig, err = st.x.Keys.Sign(st.ctx, st.x, name, hashName, data) })
			if err != nil {
				st.fatal(failure.Wrap(failure.Unavailable, "keystore", err, fn+" with "+name))
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
	var h *handle
	if hasMarker(s) {
		ps := st.pieces(s, "the key")
		if len(ps) != 1 || ps[0].h == nil {
			st.fatal(failure.New(failure.Internal, "script", "%s: the key must be a secret name or a handle from secret(), alone", fn))
		}
		h = ps[0].h
	} else {
		st.declared(fn, s)
		h = &handle{name: s}
	}
	if r := st.roleOf(h, rolePrivateKey).role; r != rolePrivateKey || h.derived {
		st.refuse(fn, "the key", h, r)
	}
	return h.name
}

// declared throws unless the provider declares the secret name.
func (st *callState) declared(fn, name string) {
	if _, ok := st.step.secrets[name]; !ok {
		st.typeError("%s: the provider declares no secret %q", fn, name)
	}
}
