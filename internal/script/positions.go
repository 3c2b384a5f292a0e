package script

import (
	"bytes"
	"io"

	"github.com/dop251/goja"

	"github.com/keygate/keygate/internal/failure"
	"github.com/keygate/keygate/internal/secret"
	"github.com/keygate/keygate/signer"
)

// Argument positions: each built-in argument that may hold secret material says which roles it
// takes (roles.go). A handle of any other role fails the request, uncatchably, with an error
// naming the built-in, the position and the role, never the value.

// piece is a run of a string argument: text, or one handle.
type piece struct {
	text string
	h    *handle
}

// pieces splits s into text and handles. A fragment of a marker, or a marker of another
// invocation, fails the request.
func (st *callState) pieces(s, pos string) []piece {
	var out []piece
	for {
		i := indexMarkerStart(s)
		if i < 0 {
			if s != "" {
				out = append(out, piece{text: s})
			}
			return out
		}
		if i > 0 {
			out = append(out, piece{text: s[:i]})
		}
		n, l, err := st.handles.lookup(s[i:])
		if err != nil {
			st.fatal(sinkError(pos + " (" + err.Error() + ")"))
		}
		out = append(out, piece{h: &st.handles.list[n]})
		s = s[i+l:]
	}
}

// roleOf is a handle's role: its own (tokens, derived material) or its secret's, which want
// fixes when the config left it open. Derived HMAC keys take the chain of their origin.
func (st *callState) roleOf(h *handle, want role) secretRole {
	switch {
	case h.role == roleUnset:
		return st.step.roleOf(h.name, want)
	case h.role == roleHMACKey:
		return st.step.roleOf(h.name, roleHMACKey)
	}
	return secretRole{role: h.role}
}

// refuse fails the request: h's role does not go in pos.
func (st *callState) refuse(fn, pos string, h *handle, r role) {
	what := "secret " + h.name
	switch {
	case h.name == "":
		what = "a token"
	case h.derived:
		what = "material derived from secret " + h.name
	}
	st.fatal(failure.New(failure.Internal, "script", "%s: %s does not take %s (role %s)", fn, pos, what, r))
}

// load returns a handle's bytes, reading a named secret on first use.
func (st *callState) load(h *handle) []byte {
	if !h.loaded {
		if st.x.Keys == nil {
			st.throw(failure.New(failure.Internal, "script", "no keys for secret %s", h.name))
		}
		// A key the keystore has at hand is read in place; only one that may wait on Vault
		// gives up the processor slot and the time budget for the wait (outside: a slot
		// released and taken again, the memory watchdog restarted, was a tenth of the
		// article's functions' time, profiled).
		v, ok := secret.Value{}, false
		if rk, can := st.x.Keys.(signer.ReadyKeys); can {
			v, ok = rk.SecretIfReady(st.x, h.name)
		}
		var err error
		if !ok {
			st.outside(func() { v, err = st.x.Keys.Secret(st.ctx, st.x, h.name) })
		}
		if err != nil {
			st.fatal(failure.Wrap(failure.Unavailable, "keystore", err, "secret "+h.name))
		}
		h.val, h.loaded = v, true
	}
	return h.val.Reveal()
}

// join reveals pieces into one byte slice; the caller wipes it. The slice is sized first: one
// grown by append would leave each outgrown copy of a secret behind, unwiped.
func (st *callState) join(ps []piece) []byte {
	n := 0
	for _, p := range ps {
		if p.h == nil {
			n += len(p.text)
		} else {
			n += len(st.load(p.h))
		}
	}
	out := make([]byte, 0, n)
	for _, p := range ps {
		if p.h == nil {
			out = append(out, p.text...)
			continue
		}
		out = append(out, st.load(p.h)...)
	}
	return out
}

// stringOrBinary returns a byte argument's string form, or its bytes when it is binary.
func (st *callState) stringOrBinary(fn string, v goja.Value) (s string, bin []byte, isBin bool) {
	if missing(v) {
		st.typeError("%s: an argument is missing", fn)
	}
	if b, ok := binary(v); ok {
		return "", b, true
	}
	if _, isObj := v.(*goja.Object); isObj {
		st.typeError("%s: want a string, ArrayBuffer or Uint8Array", fn)
	}
	return v.String(), nil, false
}

// plainBytes is an argument that holds no secret (cipher plaintext, additional data).
func (st *callState) plainBytes(fn string, v goja.Value, pos string) []byte {
	s, b, isBin := st.plainText(fn, v, pos)
	if isBin {
		return b
	}
	return []byte(s)
}

// plainText is plainBytes without converting a string: its text, or its bytes when it is
// binary.
func (st *callState) plainText(fn string, v goja.Value, pos string) (s string, bin []byte, isBin bool) {
	s, bin, isBin = st.stringOrBinary(fn, v)
	if isBin {
		return "", bin, true
	}
	for _, p := range st.pieces(s, pos) {
		if p.h != nil {
			st.refuse(fn, pos, p.h, st.roleOf(p.h, roleUnset).role)
		}
	}
	return s, nil, false
}

// dataArg is the data of a digest, HMAC or signature: text with sign strings (and what
// encoders derived from them) and tokens. secretUsed says the caller must wipe b.
func (st *callState) dataArg(fn, pos string, v goja.Value) (b []byte, secretUsed bool) {
	s, bin, isBin := st.stringOrBinary(fn, v)
	if isBin || !hasMarker(s) {
		if isBin {
			return bin, false
		}
		return []byte(s), false
	}
	return st.join(st.dataPieces(fn, pos, s)), true
}

// dataPieces splits the data of a digest, HMAC or signature and checks its handles: sign
// strings (and what encoders derived from them) and tokens.
func (st *callState) dataPieces(fn, pos, s string) []piece {
	ps := st.pieces(s, pos)
	for _, p := range ps {
		if p.h == nil {
			continue
		}
		if r := st.roleOf(p.h, roleSignString).role; r != roleSignString && r != roleToken {
			st.refuse(fn, pos, p.h, r)
		}
	}
	return ps
}

// writeData is dataArg written to w (a digest) piece by piece instead of joined: a handle's
// bytes from where the handle holds them, text through the runtime's chunk buffer. Joining
// copied the article's 6 KiB sign string once more to hash it (profiled).
func (st *callState) writeData(fn, pos string, v goja.Value, w io.Writer) {
	s, bin, isBin := st.stringOrBinary(fn, v)
	if isBin {
		_, _ = w.Write(bin)
		return
	}
	if !hasMarker(s) {
		st.writeText(w, s)
		return
	}
	for _, p := range st.dataPieces(fn, pos, s) {
		if p.h == nil {
			st.writeText(w, p.text)
		} else {
			_, _ = w.Write(st.load(p.h))
		}
	}
}

// writeText writes s to w without converting it to a byte slice of its own: through chunk,
// which is cleared after (the text may be the caller's request data).
func (st *callState) writeText(w io.Writer, s string) {
	for len(s) > 0 {
		n := copy(st.chunk[:], s)
		_, _ = w.Write(st.chunk[:n])
		s = s[n:]
	}
	clear(st.chunk[:])
}

// hmacKeyArg is the key of an HMAC: text around at most one hmac_key secret or derived chain
// key. root is the handle when the key is exactly one named secret (Transit can compute it).
func (st *callState) hmacKeyArg(fn string, v goja.Value) (k []byte, h *handle, root bool) {
	s, bin, isBin := st.stringOrBinary(fn, v)
	if isBin {
		return bin, nil, false
	}
	if !hasMarker(s) {
		return []byte(s), nil, false
	}
	ps := st.pieces(s, "the key")
	for _, p := range ps {
		if p.h == nil {
			continue
		}
		if r := st.roleOf(p.h, roleHMACKey).role; r != roleHMACKey {
			st.refuse(fn, "the key", p.h, r)
		}
		if h != nil {
			st.fatal(failure.New(failure.Internal, "script", "%s: the key holds more than one secret", fn))
		}
		h = p.h
	}
	return st.join(ps), h, len(ps) == 1 && !h.derived
}

// aesKeyArg is the key of an AES built-in: plain, or exactly one aes_key secret (a key that is
// part known text could be searched for).
func (st *callState) aesKeyArg(fn string, v goja.Value) (k []byte, name string) {
	s, bin, isBin := st.stringOrBinary(fn, v)
	if isBin {
		return bin, ""
	}
	if !hasMarker(s) {
		return []byte(s), ""
	}
	ps := st.pieces(s, "the key")
	for _, p := range ps {
		if p.h != nil {
			if r := st.roleOf(p.h, roleAESKey).role; r != roleAESKey || p.h.derived {
				st.refuse(fn, "the key", p.h, r)
			}
		}
	}
	if len(ps) != 1 {
		st.fatal(failure.New(failure.Internal, "script", "%s: a secret key must be the secret alone, not text joined to it", fn))
	}
	return st.join(ps), ps[0].h.name
}

// ivArg is the IV or nonce of an AES built-in: plain, or exactly the iv secret declared with
// the key in use (keyName, "" for a key the script knows).
func (st *callState) ivArg(fn string, v goja.Value, keyName string) (iv []byte, name string) {
	s, bin, isBin := st.stringOrBinary(fn, v)
	if isBin {
		return bin, ""
	}
	if !hasMarker(s) {
		return []byte(s), ""
	}
	ps := st.pieces(s, "the IV")
	for _, p := range ps {
		if p.h == nil {
			continue
		}
		r := st.roleOf(p.h, roleIV)
		if r.role != roleIV || p.h.derived {
			st.refuse(fn, "the IV", p.h, r.role)
		}
		if keyName == "" {
			st.fatal(failure.New(failure.Internal, "script", "%s: the IV %s is secret and the key is not", fn, p.h.name))
		}
		if r.key != keyName {
			st.fatal(failure.New(failure.Internal, "script", "%s: the IV %s goes with key %s, not %s", fn, p.h.name, r.key, keyName))
		}
	}
	if len(ps) != 1 {
		st.fatal(failure.New(failure.Internal, "script", "%s: a secret IV must be the secret alone, not text joined to it", fn))
	}
	return st.join(ps), ps[0].h.name
}

// encodeArg is the input of an encoder: plain, or text with sign strings, whose encoding stays
// a sign string handle (Baidu's sn hashes url_encode(path + sk)). origin names the first secret.
func (st *callState) encodeArg(fn string, v goja.Value) (b []byte, origin string, secretUsed bool) {
	s, bin, isBin := st.stringOrBinary(fn, v)
	if isBin {
		return bin, "", false
	}
	if !hasMarker(s) {
		return []byte(s), "", false
	}
	ps := st.pieces(s, "the input")
	for _, p := range ps {
		if p.h == nil {
			continue
		}
		if r := st.roleOf(p.h, roleSignString).role; r != roleSignString {
			st.refuse(fn, "the input", p.h, r)
		}
		if origin == "" {
			origin = p.h.name
		}
	}
	return st.join(ps), origin, true
}

// tokenArg reveals s for a request header or token_save: tokens only; any other handle
// violates sink.
func (st *callState) tokenArg(s, sink string) (out []byte, secretUsed bool) {
	if !hasMarker(s) {
		return []byte(s), false
	}
	ps := st.pieces(s, sink)
	for _, p := range ps {
		if p.h != nil && p.h.role != roleToken {
			st.violate(sink)
		}
	}
	return st.join(ps), true
}

// derived returns a handle for material derived from origin's secret.
func (st *callState) derived(origin string, r role, depth int, b []byte) goja.Value {
	st.charge(len(b) + 64) // a handle and its bytes live until the invocation ends
	if f := st.step.opts.observeDerived; f != nil {
		f(bytes.Clone(b))
	}
	return st.rt.ToValue(st.handles.value(handle{name: origin, role: r, derived: true, depth: depth}, secret.New(b)))
}
