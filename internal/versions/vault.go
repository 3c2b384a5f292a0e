package versions

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/keygate/keygate/keystore"

	"github.com/hashicorp/vault/api"
)

// VaultOptions configure a VaultStore.
type VaultOptions struct {
	Mount  string // KV v2 mount, default "secret"
	Prefix string // path prefix, default "keygate-config"
	Keep   int    // versions kept, default DefaultKeep
}

// VaultStore keeps versions in Vault KV v2 for a fleet: every replica reads the same history.
// Version N is the secret PREFIX/v/N, created with check-and-set 0 (it must not exist), which
// makes N taken fleet-wide; the index PREFIX/versions ({latest, oldest}) is then advanced with
// check-and-set on its own KV version. A version whose writer died before advancing the index
// is complete (a KV write is atomic) and is adopted by the next reader.
type VaultStore struct {
	kv   *api.KVv2
	opts VaultOptions
}

var _ Store = (*VaultStore)(nil)

// NewVaultStore returns a store using c (already authenticated, with a policy allowing
// create/read/update/delete on the mount's data and metadata paths under the prefix).
func NewVaultStore(c *api.Client, opts VaultOptions) *VaultStore {
	if opts.Mount == "" {
		opts.Mount = "secret"
	}
	if opts.Prefix == "" {
		opts.Prefix = "keygate-config"
	}
	opts.Prefix = strings.Trim(opts.Prefix, "/")
	if opts.Keep <= 0 {
		opts.Keep = DefaultKeep
	}
	return &VaultStore{kv: c.KVv2(opts.Mount), opts: opts}
}

type vaultIndex struct {
	Latest int `json:"latest"`
	Oldest int `json:"oldest"`
}

func (s *VaultStore) indexPath() string        { return s.opts.Prefix + "/versions" }
func (s *VaultStore) versionPath(n int) string { return fmt.Sprintf("%s/v/%d", s.opts.Prefix, n) }

// head reads the index (and its KV version, 0 when absent), adopting complete versions whose
// writer did not advance the index.
func (s *VaultStore) head(ctx context.Context) (vaultIndex, int, error) {
	var idx vaultIndex
	kvVersion := 0
	sec, err := s.kv.Get(ctx, s.indexPath())
	switch {
	case errors.Is(err, api.ErrSecretNotFound):
	case err != nil:
		return idx, 0, vaultFailure("read index", err)
	default:
		if sec.VersionMetadata != nil {
			kvVersion = sec.VersionMetadata.Version
		}
		var okL, okO bool
		idx.Latest, okL = asInt(sec.Data["latest"])
		idx.Oldest, okO = asInt(sec.Data["oldest"])
		if !okL || !okO {
			// Read as 0, a damaged (or soft-deleted: no data) index would restart the history at
			// version 1 next to the versions still stored: refuse instead (Restore falls back to
			// last-known-good).
			return idx, 0, fmt.Errorf("the version index %s in Vault is deleted or corrupt: %w", s.indexPath(), ErrUnavailable)
		}
	}
	adopted := false
	for {
		if _, err := s.Get(ctx, idx.Latest+1); err != nil {
			if errors.Is(err, ErrNotFound) {
				break
			}
			return idx, 0, err
		}
		idx.Latest++
		if idx.Oldest == 0 {
			idx.Oldest = idx.Latest
		}
		adopted = true
	}
	if adopted {
		if nv, err := s.writeIndex(ctx, idx, kvVersion); err == nil {
			kvVersion = nv
		}
	}
	return idx, kvVersion, nil
}

func (s *VaultStore) writeIndex(ctx context.Context, idx vaultIndex, cas int) (int, error) {
	sec, err := s.kv.Put(ctx, s.indexPath(), map[string]any{"latest": idx.Latest, "oldest": idx.Oldest}, api.WithCheckAndSet(cas))
	if err != nil {
		return 0, vaultFailure("write index", err)
	}
	if sec != nil && sec.VersionMetadata != nil {
		return sec.VersionMetadata.Version, nil
	}
	return cas + 1, nil
}

func (s *VaultStore) List(ctx context.Context) ([]Version, error) {
	idx, _, err := s.head(ctx)
	if err != nil {
		return nil, err
	}
	var out []Version
	for n := max(idx.Oldest, 1); n <= idx.Latest && idx.Latest > 0; n++ {
		v, err := s.Get(ctx, n)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

func (s *VaultStore) Get(ctx context.Context, n int) (Version, error) {
	sec, err := s.kv.Get(ctx, s.versionPath(n))
	if errors.Is(err, api.ErrSecretNotFound) {
		return Version{}, fmt.Errorf("version %d: %w", n, ErrNotFound)
	}
	if err != nil {
		return Version{}, vaultFailure(fmt.Sprintf("read version %d", n), err)
	}
	raw, ok := sec.Data["version"].(string)
	if !ok {
		return Version{}, fmt.Errorf("version %d: %w", n, ErrNotFound) // deleted
	}
	var v Version
	if err := json.Unmarshal([]byte(raw), &v); err != nil {
		return Version{}, fmt.Errorf("version %d in Vault is corrupt: %v", n, err)
	}
	return v, nil
}

func (s *VaultStore) Latest(ctx context.Context) (Version, error) {
	idx, _, err := s.head(ctx)
	if err != nil {
		return Version{}, err
	}
	if idx.Latest == 0 {
		return Version{}, fmt.Errorf("latest: %w", ErrNotFound)
	}
	return s.Get(ctx, idx.Latest)
}

func (s *VaultStore) Put(ctx context.Context, v Version, expectedLatest int) error {
	idx, kvVersion, err := s.head(ctx)
	if err != nil {
		return err
	}
	if idx.Latest != expectedLatest || v.Number != expectedLatest+1 {
		return fmt.Errorf("put version %d (latest %d, expected %d): %w", v.Number, idx.Latest, expectedLatest, ErrConflict)
	}
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if _, err := s.kv.Put(ctx, s.versionPath(v.Number), map[string]any{"version": string(data)}, api.WithCheckAndSet(0)); err != nil {
		return fmt.Errorf("put version %d: %w", v.Number, vaultFailure("write version", err))
	}
	idx.Latest = v.Number
	if idx.Oldest == 0 {
		idx.Oldest = v.Number
	}
	var drop []int
	if idx.Latest-idx.Oldest+1 > s.opts.Keep {
		drop, idx.Oldest = s.pruned(ctx, idx)
	}
	// The version is stored (and would be adopted); a failed index write loses nothing.
	_, _ = s.writeIndex(ctx, idx, kvVersion)
	for _, n := range drop {
		_ = s.kv.DeleteMetadata(ctx, s.versionPath(n))
	}
	return nil
}

// pruned lists the versions Retained does not keep, and the oldest one kept (the index's
// Oldest: versions between it and Latest that were dropped are skipped by List).
func (s *VaultStore) pruned(ctx context.Context, idx vaultIndex) (drop []int, oldest int) {
	var vs []Version
	for n := max(idx.Oldest, 1); n <= idx.Latest; n++ {
		v, err := s.Get(ctx, n)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, idx.Oldest // retried at the next Put
		}
		vs = append(vs, v.Meta())
	}
	keep := Retained(vs, s.opts.Keep)
	oldest = idx.Latest
	for _, v := range vs {
		if keep[v.Number] {
			oldest = min(oldest, v.Number)
		} else {
			drop = append(drop, v.Number)
		}
	}
	return drop, oldest
}

// vaultFailure classifies a Vault error: a check-and-set mismatch is ErrConflict, the rest
// ErrUnavailable. Vault's messages name paths, never the data.
func vaultFailure(what string, err error) error {
	detail, sentinel := keystore.ClassifyVaultError(err)
	if errors.Is(sentinel, keystore.ErrCASMismatch) {
		return fmt.Errorf("%s: %w", what, ErrConflict)
	}
	return fmt.Errorf("%s: %w: %s", what, ErrUnavailable, detail)
}

func asInt(v any) (int, bool) {
	switch n := v.(type) {
	case json.Number:
		i, err := n.Int64()
		return int(i), err == nil
	case float64:
		return int(n), true
	case int:
		return n, true
	}
	return 0, false
}
