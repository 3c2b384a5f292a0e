package signer

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/subtle"
	"errors"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/keygate/keygate/internal/failure"
	"github.com/keygate/keygate/internal/jsonbody"
)

// aesParams are what aes_cbc and aes_gcm share.
type aesParams struct {
	Key              string  `json:"key"`            // secret name of the AES key (16, 24 or 32 bytes)
	KeyEncoding      string  `json:"key_encoding"`   // raw | base64 | hex: how key, iv and nonce are stored
	Field            string  `json:"field"`          // JSON field to encrypt; "" encrypts the whole body
	Encoding         string  `json:"encoding"`       // base64 | hex: the ciphertext as text
	ResponseField    *string `json:"response_field"` // default field
	DecryptResponse  *bool   `json:"decrypt_response"`
	ResponseOptional bool    `json:"response_optional"`
}

// aesMode is the cipher mode of a step: the only part aes_cbc and aes_gcm do differently.
type aesMode interface {
	// seal appends the ciphertext of plain to dst.
	seal(ctx context.Context, x *Exchange, dst, key, plain []byte) ([]byte, error)
	// open decrypts ct in place (ct is the caller's own buffer) and returns the plaintext, a
	// prefix of ct's memory.
	open(ctx context.Context, x *Exchange, key, ct []byte) ([]byte, error)
}

// sealScratch holds the buffers ciphertexts are built in before they are encoded into the
// body (where they are copied): one per request would be 4 KiB of garbage for a 4 KiB body.
// Buffers over maxScratch are left to the collector, so a burst of large bodies does not stay
// pinned in the pool.
var sealScratch = sync.Pool{New: func() any { return new([]byte) }}

const maxScratch = 64 << 10

func putScratch(p *[]byte, b []byte) {
	if cap(b) <= maxScratch {
		*p = b[:0]
		sealScratch.Put(p)
	}
}

// errDecrypt is the one thing a failed decryption says: padding, tag or length details would
// help an attacker and never help an operator.
var errDecrypt = errors.New("decrypt failed")

type aesStep struct {
	p         aesParams
	keyEnc    keyEncoding
	enc       byteEncoding
	respField string
	decrypt   bool
	refs      map[string]string // secret name -> reference text, for errors
	mode      aesMode
	cipher    atomic.Pointer[keyedBlock] // the last key's cipher (block)
}

// keyedBlock is an AES cipher with the key it was expanded from, and its CBC modes for reuse.
type keyedBlock struct {
	key   []byte
	block cipher.Block
	// enc and dec hold CBC modes of block, reused with a new IV: a mode copies the key
	// schedule, so a new one per request was an allocation of about half a KiB each way.
	enc, dec sync.Pool
}

// keyed returns the AES cipher of key, expanded once per key rather than per request (it was
// two allocations and two key schedules of every request, profiled). The key is compared in
// constant time; a rotated key replaces the entry (and its modes). The copy of the key lives
// as long as the cipher, which holds the key's schedule anyway.
func (s *aesStep) keyed(key []byte) *keyedBlock {
	if c := s.cipher.Load(); c != nil && subtle.ConstantTimeCompare(c.key, key) == 1 {
		return c
	}
	b, _ := aes.NewCipher(key) // the length was checked
	c := &keyedBlock{key: bytes.Clone(key), block: b}
	s.cipher.Store(c)
	return c
}

// ivSetter is a CBC mode that can start over with another IV (crypto/cipher's and the
// FIPS module's both can).
type ivSetter interface{ SetIV([]byte) }

// cbc returns a CBC encrypter (or decrypter) of the block starting at iv; release gives it
// back once the request is done with it.
func (c *keyedBlock) cbc(encrypt bool, iv []byte) cipher.BlockMode {
	pool, newMode := &c.dec, cipher.NewCBCDecrypter
	if encrypt {
		pool, newMode = &c.enc, cipher.NewCBCEncrypter
	}
	if m, ok := pool.Get().(cipher.BlockMode); ok {
		m.(ivSetter).SetIV(iv)
		return m
	}
	return newMode(c.block, iv)
}

func (c *keyedBlock) release(encrypt bool, m cipher.BlockMode) {
	if _, ok := m.(ivSetter); !ok {
		return
	}
	if encrypt {
		c.enc.Put(m)
	} else {
		c.dec.Put(m)
	}
}

var _ ResponseStep = (*aesStep)(nil)

func buildAES(b Build, p aesParams) (*aesStep, error) {
	if err := requireParamSecret(b, "key", p.Key, true); err != nil {
		return nil, err
	}
	ke, err := parseKeyEncoding(p.KeyEncoding)
	if err != nil {
		return nil, paramError(b, "key_encoding", "%v", err)
	}
	if p.Encoding != "" && p.Encoding != "base64" && p.Encoding != "hex" {
		return nil, paramError(b, "encoding", "%q is not one of base64, hex", p.Encoding)
	}
	enc, _ := parseEncoding(p.Encoding, "base64")
	s := &aesStep{p: p, keyEnc: ke, enc: enc, respField: p.Field, decrypt: true, refs: map[string]string{}}
	if p.ResponseField != nil {
		s.respField = *p.ResponseField
	}
	if p.DecryptResponse != nil {
		s.decrypt = *p.DecryptResponse
	}
	for name, ref := range b.Secrets {
		s.refs[name] = ref.String()
	}
	return s, nil
}

func (s *aesStep) Needs() Needs { return Needs{RequestBody: true, ResponseBody: s.decrypt} }

// keyBytes reads a secret and decodes it; sizes is the allowed lengths.
func (s *aesStep) keyBytes(ctx context.Context, x *Exchange, stage, name string, sizes ...int) ([]byte, error) {
	v, err := x.Keys.Secret(ctx, x, name)
	if err != nil {
		return nil, err
	}
	k, err := s.keyEnc.decode(v.Reveal())
	if err != nil {
		return nil, failure.Wrap(failure.Internal, stage, err, s.refs[name])
	}
	for _, n := range sizes {
		if len(k) == n {
			return k, nil
		}
	}
	// A copy: handing sizes itself to the error would move every call's sizes to the heap.
	return nil, failure.New(failure.Internal, stage, "%s is %d bytes, want one of %v", s.refs[name], len(k), slices.Clone(sizes))
}

func (s *aesStep) SignRequest(ctx context.Context, x *Exchange) error {
	r := x.Request
	if s.p.Field == "" {
		body := r.Body()
		if len(body) == 0 {
			return nil // nothing to protect
		}
		scratch := sealScratch.Get().(*[]byte)
		ct, err := s.seal(ctx, x, *scratch, body)
		if err != nil {
			return err
		}
		r.SetBody(s.enc.appendEncode(nil, ct))
		putScratch(scratch, ct)
		return nil
	}
	obj, err := r.JSON()
	if err != nil {
		return failure.Wrap(failure.BadRequest, "encrypt", err, "field encryption needs a JSON object body")
	}
	raw, unescaped, ok := obj.RawPlain(s.p.Field)
	if !ok {
		return failure.New(failure.BadRequest, "encrypt", "body has no field %q to encrypt", s.p.Field)
	}
	scratch := sealScratch.Get().(*[]byte)
	ct, err := s.seal(ctx, x, *scratch, memberText(raw, unescaped)) // seal only reads the plaintext
	if err != nil {
		return err
	}
	// The field's JSON string (= SetString: the encodings need no escaping) is built in a
	// scratch buffer too: the body is serialized from the view before it leaves, so the
	// request gives the buffer back then (Request.Settle).
	field := sealScratch.Get().(*[]byte)
	quoted := s.enc.appendQuoted((*field)[:0], ct)
	putScratch(scratch, ct) // quoted copied it
	r.keepScratch(field, quoted)
	obj.SetPlainString(s.p.Field, quoted)
	r.MarkJSONChanged()
	return nil
}

// seal appends the ciphertext of plain to dst[:0].
func (s *aesStep) seal(ctx context.Context, x *Exchange, dst, plain []byte) ([]byte, error) {
	key, err := s.keyBytes(ctx, x, "encrypt", s.p.Key, 16, 24, 32)
	if err != nil {
		return nil, err
	}
	return s.mode.seal(ctx, x, dst[:0], key, plain)
}

// ProcessResponse decrypts the response; see docs/schemes.md for when a response passes as is.
func (s *aesStep) ProcessResponse(ctx context.Context, x *Exchange) error {
	resp := x.Response
	if !s.decrypt || resp == nil {
		return nil
	}
	lenient := s.p.ResponseOptional || resp.Status < 200 || resp.Status > 299
	if s.respField == "" {
		text := bytes.TrimSpace(resp.Body)
		if len(text) == 0 {
			return nil
		}
		plain, err := s.open(ctx, x, nil, text) // the plaintext becomes the body: its own buffer
		if errors.Is(err, errDecrypt) && lenient {
			return nil
		}
		if err != nil {
			return err
		}
		resp.Body = plain
		return nil
	}
	obj, err := jsonbody.Parse(resp.Body)
	if err != nil {
		if lenient {
			return nil
		}
		return failure.Wrap(failure.BadGateway, "decrypt", err, "response")
	}
	raw, unescaped, ok := obj.RawPlain(s.respField)
	if !ok || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return nil // providers answer errors in plain JSON, without the encrypted field
	}
	text := memberText(raw, unescaped)
	if len(text) == 0 {
		// No cipher mode has an empty ciphertext: a 2xx that empties the field is refused,
		// not passed on as if it had been decrypted.
		if lenient {
			return nil
		}
		return failure.New(failure.BadGateway, "decrypt", "response field %q is empty: no ciphertext to decrypt", s.respField)
	}
	// The ciphertext is decoded (and decrypted in place) in a scratch buffer: the plaintext is
	// copied into the new body, then wiped and the buffer given back.
	scratch := sealScratch.Get().(*[]byte)
	plain, err := s.open(ctx, x, *scratch, text)
	if err != nil {
		sealScratch.Put(scratch) // open wiped what it decrypted
		return err
	}
	setDecrypted(obj, s.respField, plain)
	resp.Body = obj.AppendTo(make([]byte, 0, len(resp.Body))) // = Marshal, without regrowing
	clear(plain)
	putScratch(scratch, plain)
	return nil
}

// open decodes text into dst[:0] and decrypts it there; every failure of the data itself is
// errDecrypt (502).
func (s *aesStep) open(ctx context.Context, x *Exchange, dst, text []byte) ([]byte, error) {
	key, err := s.keyBytes(ctx, x, "decrypt", s.p.Key, 16, 24, 32)
	if err != nil {
		return nil, err
	}
	ct, err := s.enc.appendDecode(dst[:0], text)
	if err != nil {
		return nil, failure.Wrap(failure.BadGateway, "decrypt", errDecrypt, "response ciphertext is not "+string(s.enc))
	}
	plain, err := s.mode.open(ctx, x, key, ct)
	if err != nil {
		// CBC decrypts in place before it checks the padding: a tampered last block leaves
		// the rest of a genuine plaintext in ct.
		clear(ct)
	}
	if errors.Is(err, errDecrypt) {
		return nil, failure.Wrap(failure.BadGateway, "decrypt", err, "")
	}
	return plain, err
}

// setDecrypted puts a decrypted value back: a JSON object or array as JSON, anything else as a
// JSON string (so "123" stays the string it was encrypted from).
func setDecrypted(obj *jsonbody.Object, field string, plain []byte) {
	t := bytes.TrimSpace(plain)
	if len(t) > 0 && (t[0] == '{' || t[0] == '[') && jsonbody.Valid(t) {
		obj.SetRaw(field, t)
		return
	}
	obj.SetString(field, string(plain))
}
