package signer

import (
	"context"
	"crypto/hmac"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/internal/failure"
	"github.com/keygate/keygate/internal/secret"
	"github.com/keygate/keygate/keystore"
)

// NewKeys binds a provider's secret names to the keystore. Transit references HMAC and sign in
// the store when it implements keystore.TransitSigner; KV references are read and used locally.
// Parsed private keys are cached per (reference, version), so steady state parses nothing.
// The result is safe for concurrent use and meant to live as long as its config version.
func NewKeys(store keystore.Getter, refs map[string]keystore.Ref) Keys {
	ts, _ := store.(keystore.TransitSigner)
	peek, _ := store.(keystore.Peeker)
	text := make(map[string]string, len(refs))
	for name, ref := range refs {
		text[name] = ref.String()
	}
	return &keySet{store: store, transit: ts, peek: peek, refs: refs, refText: text, parsed: newPrivateKeyCache()}
}

type keySet struct {
	store   keystore.Getter
	transit keystore.TransitSigner // nil when the store has no Transit
	peek    keystore.Peeker        // nil when the store cannot answer without waiting
	refs    map[string]keystore.Ref
	refText map[string]string // ref.String() per name, formatted once for the audit record
	parsed  *privateKeyCache
}

var (
	_ Keys      = (*keySet)(nil)
	_ ReadyKeys = (*keySet)(nil)
)

// Names lists the provider's declared secret names (the token package checks its params
// against them at compile).
func (k *keySet) Names() []string { return slices.Collect(maps.Keys(k.refs)) }

// RequireSecret is the compile-time check a factory runs for every secret name it uses, so an
// unknown name is a config error at load rather than a failure per request.
func RequireSecret(b Build, name string) error {
	if _, ok := b.Secrets[name]; !ok {
		// Never echo the name: a careless config writes the secret's value where its name belongs.
		return errors.New(config.UndeclaredSecret(slices.Collect(maps.Keys(b.Secrets))))
	}
	return nil
}

// RequireReadableSecret is RequireSecret for a key whose bytes keygate must hold (an AES key, a
// SigV4 secret): a Transit key never leaves Vault, so it cannot be used there.
func RequireReadableSecret(b Build, name string) error {
	if err := RequireSecret(b, name); err != nil {
		return err
	}
	if b.Secrets[name].Kind == keystore.Transit {
		return fmt.Errorf("secret %q is a Transit key (%s); this use needs the key bytes, use a KV reference", name, b.Secrets[name])
	}
	return nil
}

// requireParamSecret runs RequireSecret for a parameter and names the parameter in the error.
func requireParamSecret(b Build, param, name string, readable bool) error {
	if name == "" {
		return config.Errorf(b.Path+"."+param, "required: the name of a provider secret")
	}
	check := RequireSecret
	if readable {
		check = RequireReadableSecret
	}
	if err := check(b, name); err != nil {
		return config.Errorf(b.Path+"."+param, "%v", err)
	}
	return nil
}

func (k *keySet) ref(name string) (keystore.Ref, error) {
	ref, ok := k.refs[name]
	if !ok {
		return ref, failure.New(failure.Internal, "sign", "secret %q is not declared for this provider", name)
	}
	return ref, nil
}

func (k *keySet) Secret(ctx context.Context, x *Exchange, name string) (secret.Value, error) {
	s, _, err := k.readFor(ctx, x, name)
	return s.Value, err
}

// recordUse adds u to the audit record once per key: several steps, a script or both phases
// may use one key.
func (x *Exchange) recordUse(u KeyUse) {
	for _, used := range x.Used {
		if used.Name == u.Name {
			return
		}
	}
	if x.Used == nil {
		x.Used = x.usedBuf[:0]
	}
	x.Used = append(x.Used, u)
}

// keyRead is a secret an exchange has read, by the provider's name for it.
type keyRead struct {
	name string
	s    keystore.Secret
}

// readFor is read through the exchange's memo, recording the first use of each key.
func (k *keySet) readFor(ctx context.Context, x *Exchange, name string) (keystore.Secret, keystore.Ref, error) {
	if s, ok := x.keyRead(name); ok {
		return s, k.refs[name], nil
	}
	start := time.Now()
	s, ref, err := k.read(ctx, name)
	x.Timing.AddSince(StageKeyFetch, start)
	if err != nil {
		return keystore.Secret{}, ref, err
	}
	k.remember(x, name, s)
	return s, ref, nil
}

// keyRead is the key this exchange read already by that name, if any.
func (x *Exchange) keyRead(name string) (keystore.Secret, bool) {
	for _, r := range x.keysRead {
		if r.name == name {
			return r.s, true
		}
	}
	return keystore.Secret{}, false
}

// remember memoizes a key's first read in the exchange and records its use for the audit.
func (k *keySet) remember(x *Exchange, name string, s keystore.Secret) {
	if x.keysRead == nil {
		x.keysRead = x.readBuf[:0]
	}
	x.keysRead = append(x.keysRead, keyRead{name, s})
	x.recordUse(KeyUse{Name: name, Ref: k.refText[name], Version: s.Version})
}

// SecretIfReady is Secret when it needs no wait: a key this exchange read already, or a KV key
// the keystore has fresh in its cache (recorded as a first use, like readFor).
func (k *keySet) SecretIfReady(x *Exchange, name string) (secret.Value, bool) {
	if s, ok := x.keyRead(name); ok {
		return s.Value, true
	}
	ref, ok := k.refs[name]
	if !ok || ref.Kind == keystore.Transit || k.peek == nil {
		return secret.Value{}, false // Secret says why
	}
	start := time.Now()
	s, ok := k.peek.Peek(ref)
	x.Timing.AddSince(StageKeyFetch, start)
	if !ok {
		return secret.Value{}, false
	}
	k.remember(x, name, s)
	return s.Value, true
}

// read fetches a KV secret; a Transit reference is an error here (its bytes never leave Vault).
func (k *keySet) read(ctx context.Context, name string) (keystore.Secret, keystore.Ref, error) {
	ref, err := k.ref(name)
	if err != nil {
		return keystore.Secret{}, ref, err
	}
	if ref.Kind == keystore.Transit {
		return keystore.Secret{}, ref, failure.New(failure.Internal, "sign", "secret %q is a Transit key (%s): its bytes cannot be read", name, ref)
	}
	s, err := k.store.Get(ctx, ref)
	return s, ref, err // keystore errors are already classified, stage keystore
}

func (k *keySet) HMAC(ctx context.Context, x *Exchange, name, hash string, data []byte) ([]byte, error) {
	newHash, ok := hashes[hash]
	if !ok {
		return nil, failure.New(failure.Internal, "sign", "unknown hash %q", hash)
	}
	if mac, remote, err := k.inTransit(ctx, x, name, hash, data, keystore.TransitSigner.HMAC); remote || err != nil {
		return mac, err
	}
	key, err := k.Secret(ctx, x, name)
	if err != nil {
		return nil, err
	}
	m := hmac.New(newHash.new, key.Reveal())
	m.Write(data)
	return m.Sum(nil), nil
}

func (k *keySet) Sign(ctx context.Context, x *Exchange, name, hash string, data []byte) ([]byte, error) {
	if _, ok := hashes[hash]; !ok {
		return nil, failure.New(failure.Internal, "sign", "unknown hash %q", hash)
	}
	if sig, remote, err := k.inTransit(ctx, x, name, hash, data, keystore.TransitSigner.Sign); remote || err != nil {
		return sig, err
	}
	s, ref, err := k.readFor(ctx, x, name)
	if err != nil {
		return nil, err
	}
	key, err := k.parsed.get(ref, s)
	if err != nil {
		return nil, err
	}
	return signLocal(key, hash, data, ref)
}

// transitOp is keystore.TransitSigner.HMAC or .Sign as a method expression.
type transitOp func(t keystore.TransitSigner, ctx context.Context, ref keystore.Ref, alg string, data []byte) ([]byte, error)

// inTransit runs op in Vault when the named key is a Transit key; remote is false (and nothing
// is done) for a KV secret, which the caller then uses locally.
func (k *keySet) inTransit(ctx context.Context, x *Exchange, name, hash string, data []byte, op transitOp) (out []byte, remote bool, err error) {
	ref, err := k.ref(name)
	if err != nil || ref.Kind != keystore.Transit {
		return nil, false, err
	}
	if k.transit == nil {
		return nil, true, failure.New(failure.Internal, "sign", "secret %q is a Transit key (%s) but the keystore has no Transit", name, ref)
	}
	start := time.Now()
	out, err = op(k.transit, ctx, ref, vaultHashName(hash), data)
	x.Timing.AddSince(StageKeyFetch, start)
	if err != nil {
		return nil, true, err
	}
	x.recordUse(KeyUse{Name: name, Ref: k.refText[name]})
	return out, true, nil
}
