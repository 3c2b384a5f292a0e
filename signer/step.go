// Package signer holds keygate's signing pipeline: the Request a step changes, the Exchange a
// step runs in, the Step interfaces, and the catalogue of built-in schemes. A provider's config
// compiles into an ordered list of Steps (internal/gateway); the ext_proc server and
// `keygate sign` both run that same list, so a dry run is never a second implementation.
package signer

import (
	"context"
	"encoding/json"
	"net/url"
	"time"

	"github.com/keygate/keygate/internal/secret"
	"github.com/keygate/keygate/keystore"
)

// Step is one compiled signing or encryption step of a provider. It is immutable and shared by
// all requests of a config version: per-request state lives in the Exchange.
type Step interface {
	// Needs says which parts of the exchange the step reads, so that the ext_proc server asks
	// Envoy only for those (a header-only provider never buffers a body).
	Needs() Needs
	// SignRequest changes x.Request. An error fails the request closed; it must be (or wrap) a
	// *failure.Error and never contain a secret value.
	SignRequest(ctx context.Context, x *Exchange) error
}

// ResponseStep is the optional capability of processing the provider's response (decrypting a
// field, verifying a response signature). Response steps run in reverse step order.
type ResponseStep interface {
	Step
	ProcessResponse(ctx context.Context, x *Exchange) error
}

// Needs lists what a step reads.
type Needs struct {
	RequestBody  bool // the whole buffered request body
	ResponseBody bool // the whole buffered response body (implies response headers)
}

// Or combines needs.
func (n Needs) Or(o Needs) Needs {
	return Needs{RequestBody: n.RequestBody || o.RequestBody, ResponseBody: n.ResponseBody || o.ResponseBody}
}

// Exchange is one request/response through a provider: the messages, and the services a step
// may use. A new Exchange is made per request; it is not safe for concurrent use.
type Exchange struct {
	Tenant   string
	Provider string
	Request  *Request
	Response *Response // nil until the response phase

	Keys   Keys        // the provider's named secrets
	Tokens TokenSource // nil when the provider declares no token source
	Clock  Clock

	// Used records which keys (and KV versions) signed this request, for the audit log.
	Used []KeyUse
	// Sensitive lists strings a step wrote into the request that carry a secret as is (a static
	// API key header, a bearer token). They must leave for the provider, but `keygate sign`
	// prints them as [redacted] unless --reveal. Signatures and MACs are not sensitive.
	Sensitive []string
	// Explain, when set (keygate sign --explain), receives what a step signs: the canonical
	// request, the string to sign, the signature base. Steps call Explained, which costs
	// nothing when it is nil. The text must not hold a secret (a secret appended to a string
	// before hashing is left out and named instead); the dry run also redacts it.
	Explain func(step, what, text string)
	// Timing is the time this phase spent per stage (metrics). The pipeline records identify,
	// config and crypto; Keys, token and script steps record their own (see StageTimes).
	Timing StageTimes

	// keysRead are the secrets this exchange has read (keys.go): every step and both phases
	// use one version of each key, and the keystore is asked once per key and request.
	keysRead []keyRead
	// The first few keys read and used live here, not in slices grown per request (an
	// Exchange is never copied: it is always used through its pointer).
	readBuf      [4]keyRead
	usedBuf      [4]KeyUse
	sensitiveBuf [2]string
}

// MarkSensitive records that s, written into the request, carries a secret.
func (x *Exchange) MarkSensitive(s string) {
	if s != "" {
		if x.Sensitive == nil {
			x.Sensitive = x.sensitiveBuf[:0]
		}
		x.Sensitive = append(x.Sensitive, s)
	}
}

// KeyUse is an audit record of one key used: the reference, never the value.
type KeyUse struct {
	Name    string
	Ref     string
	Version int
}

// Keys resolves a provider's secrets by the names its config gives them. The implementation
// caches parsed key material per version and records each use in the Exchange.
type Keys interface {
	// Secret returns a KV secret's bytes (an AppSecret, an AES key).
	Secret(ctx context.Context, x *Exchange, name string) (secret.Value, error)
	// HMAC computes an HMAC with the named key, in Vault Transit when the reference is a
	// transit key, locally otherwise. hash is "sha1", "sha256" or "sha512".
	HMAC(ctx context.Context, x *Exchange, name, hash string, data []byte) ([]byte, error)
	// Sign signs data (the message, not a digest) with the named private key: RSA PKCS#1 v1.5,
	// ECDSA (ASN.1 DER) or ed25519 by key type, in Transit when the reference is a transit key.
	Sign(ctx context.Context, x *Exchange, name, hash string, data []byte) ([]byte, error)
}

// ReadyKeys is the optional capability of Keys to answer Secret without waiting: from the
// exchange's memo or a fresh keystore cache entry (keystore.Peeker), recorded as Secret records
// it. ok=false means Secret must be asked (and may wait on Vault). Custom mode asks it first so
// that a cached key does not cost a script its processor slot (internal/script, load).
type ReadyKeys interface {
	SecretIfReady(x *Exchange, name string) (v secret.Value, ok bool)
}

// TokenSource is a provider's token for this tenant (two-step verification), backed by the
// token manager: cached, refreshed ahead of expiry, fetched once at a time.
type TokenSource interface {
	// Token returns a valid token, fetching one if needed.
	Token(ctx context.Context) (secret.Value, error)
	// Load returns the cached token without fetching (custom mode's token_load).
	Load(ctx context.Context) (secret.Value, bool)
	// Save stores a token a script fetched itself, valid until expiry (token_save).
	Save(ctx context.Context, token secret.Value, expiry time.Time) error
	// Invalidate drops the token (token_delete, or the provider rejected it with 401).
	Invalidate(ctx context.Context)
}

// Clock is the time and randomness a step uses; `keygate sign --time/--nonce` pins both.
type Clock interface {
	Now() time.Time
	// Nonce returns a fresh random string (hex, 32 characters) or the pinned one.
	Nonce() string
}

// Build is what a scheme factory gets to compile one step.
type Build struct {
	Provider string
	Path     string                  // field path of the step in the config, for errors
	Params   json.RawMessage         // the step's own keys, to decode with config.DecodeParams
	Secrets  map[string]keystore.Ref // the provider's declared secret names
	Vars     map[string]string       // the provider's plain values
	Upstream *url.URL
	HasToken bool // the provider declares a token source (x.Tokens will be set)
}

// Factory compiles one step from its parameters. It runs at config load, never per request:
// parse everything here. Errors name the parameter.
type Factory func(b Build) (Step, error)

// Catalog maps scheme names to factories. It is built once in cmd and passed in, never global.
type Catalog map[string]Factory

// Explained hands Explain what step signs, when a dry run asked for it.
func (x *Exchange) Explained(step, what string, text func() string) {
	if x.Explain != nil {
		x.Explain(step, what, text())
	}
}
