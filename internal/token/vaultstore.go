package token

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/keygate/keygate/keystore"

	"github.com/hashicorp/vault/api"

	"github.com/keygate/keygate/internal/secret"
)

// VaultStore keeps tokens in Vault KV v2, one secret per key at
// <mount>/data/<prefix>/<tenant>/<provider> (default secret/data/keygate-tokens/...), and
// coordinates replicas with check-and-set writes: every write names the version it read, so of
// two replicas racing for a lease exactly one wins. The record's fields are token, expiry
// (RFC 3339), lease_holder and lease_until.
type VaultStore struct {
	kv     *api.KVv2
	prefix string
	clock  func() time.Time
}

// VaultStoreOptions configure a VaultStore.
type VaultStoreOptions struct {
	Client *api.Client      // authenticated; required
	Mount  string           // KV v2 mount, default "secret"
	Prefix string           // path under the mount, default "keygate-tokens"
	Clock  func() time.Time // lease times; default time.Now
}

var _ Coordinator = (*VaultStore)(nil)

// casAttempts bounds the read-modify-write retries of Save, Delete and Release.
const casAttempts = 5

// NewVaultStore returns a store over o.Client.
func NewVaultStore(o VaultStoreOptions) (*VaultStore, error) {
	if o.Client == nil {
		return nil, fmt.Errorf("token: vault store needs a client")
	}
	if o.Mount == "" {
		o.Mount = "secret"
	}
	if o.Prefix == "" {
		o.Prefix = "keygate-tokens"
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	return &VaultStore{kv: o.Client.KVv2(o.Mount), prefix: strings.Trim(o.Prefix, "/"), clock: o.Clock}, nil
}

// vaultRecord is the stored form of a key.
type vaultRecord struct {
	token  string
	expiry time.Time
	holder string
	until  time.Time
}

func (s *VaultStore) path(key Key) string {
	tenant := key.Tenant
	if tenant == "" {
		tenant = ".default" // not a valid tenant name, so it cannot collide with one
	}
	return s.prefix + "/" + url.PathEscape(tenant) + "/" + url.PathEscape(key.Provider)
}

// read returns the record and its version (0: never written).
func (s *VaultStore) read(ctx context.Context, key Key) (vaultRecord, int, error) {
	sec, err := s.kv.Get(ctx, s.path(key))
	if errors.Is(err, api.ErrSecretNotFound) {
		// Never written. (A latest version deleted by hand comes back as a secret without data
		// but with its version; a replica that wrote since loses its race to check-and-set.)
		return vaultRecord{}, 0, nil
	}
	if err != nil {
		return vaultRecord{}, 0, vaultFailure("reading "+s.path(key), err)
	}
	var r vaultRecord
	str := func(k string) string { v, _ := sec.Data[k].(string); return v }
	r.token, r.holder = str("token"), str("lease_holder")
	r.expiry, _ = time.Parse(time.RFC3339Nano, str("expiry"))
	r.until, _ = time.Parse(time.RFC3339Nano, str("lease_until"))
	version := 0
	if sec.VersionMetadata != nil {
		version = sec.VersionMetadata.Version
	}
	return r, version, nil
}

// write stores r if the secret is still at version cas; ErrConflict if it moved on.
func (s *VaultStore) write(ctx context.Context, key Key, r vaultRecord, cas int) error {
	data := map[string]any{"token": r.token, "lease_holder": r.holder}
	if !r.expiry.IsZero() {
		data["expiry"] = r.expiry.UTC().Format(time.RFC3339Nano)
	}
	if !r.until.IsZero() {
		data["lease_until"] = r.until.UTC().Format(time.RFC3339Nano)
	}
	if _, err := s.kv.Put(ctx, s.path(key), data, api.WithCheckAndSet(cas)); err != nil {
		return vaultFailure("writing "+s.path(key), err)
	}
	return nil
}

// update applies change to the current record with check-and-set, retrying lost races.
func (s *VaultStore) update(ctx context.Context, key Key, change func(*vaultRecord) bool) error {
	for range casAttempts {
		r, v, err := s.read(ctx, key)
		if err != nil {
			return err
		}
		if !change(&r) {
			return nil
		}
		if err = s.write(ctx, key, r, v); !errors.Is(err, ErrConflict) {
			return err
		}
	}
	return ErrConflict
}

func (s *VaultStore) Load(ctx context.Context, key Key) (Token, bool, error) {
	r, _, err := s.read(ctx, key)
	if err != nil || r.token == "" {
		return Token{}, false, err
	}
	return Token{Value: secret.FromString(r.token), Expiry: r.expiry}, true, nil
}

// Save stores t and ends any lease.
func (s *VaultStore) Save(ctx context.Context, key Key, t Token) error {
	return s.update(ctx, key, func(r *vaultRecord) bool {
		*r = vaultRecord{token: string(t.Value.Reveal()), expiry: t.Expiry}
		return true
	})
}

// Delete removes the token (a new version without it; the lease is kept).
func (s *VaultStore) Delete(ctx context.Context, key Key) error {
	return s.update(ctx, key, func(r *vaultRecord) bool {
		if r.token == "" {
			return false
		}
		r.token, r.expiry = "", time.Time{}
		return true
	})
}

// DeleteIf removes the token only if it is rejected, inside the check-and-set: a token another
// replica saved in between is kept.
func (s *VaultStore) DeleteIf(ctx context.Context, key Key, rejected secret.Value) error {
	return s.update(ctx, key, func(r *vaultRecord) bool {
		if r.token == "" || subtle.ConstantTimeCompare([]byte(r.token), rejected.Reveal()) != 1 {
			return false
		}
		r.token, r.expiry = "", time.Time{}
		return true
	})
}

func (s *VaultStore) TryLease(ctx context.Context, key Key, holder string, ttl time.Duration) (bool, error) {
	r, v, err := s.read(ctx, key)
	if err != nil {
		return false, err
	}
	now := s.clock()
	if r.holder != "" && r.holder != holder && now.Before(r.until) {
		return false, nil
	}
	r.holder, r.until = holder, now.Add(ttl)
	switch err := s.write(ctx, key, r, v); {
	case errors.Is(err, ErrConflict):
		return false, nil // another replica wrote first: it holds the lease or saved a token
	case err != nil:
		return false, err
	}
	return true, nil
}

func (s *VaultStore) Release(ctx context.Context, key Key, holder string) error {
	return s.update(ctx, key, func(r *vaultRecord) bool {
		if r.holder != holder {
			return false
		}
		r.holder, r.until = "", time.Time{}
		return true
	})
}

// vaultFailure is ErrConflict for a lost check-and-set race, else the keystore's classified,
// secret-free description of the Vault error (no request URL).
func vaultFailure(what string, err error) error {
	detail, sentinel := keystore.ClassifyVaultError(err)
	if errors.Is(sentinel, keystore.ErrCASMismatch) {
		return ErrConflict
	}
	return fmt.Errorf("token store: %s: %w: %s", what, sentinel, detail)
}
