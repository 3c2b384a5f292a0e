// Package versions keeps keygate's configuration as immutable, numbered versions: every apply
// (file watcher, CLI, admin API) is parsed, validated and compiled first, pins the KV versions
// of the secrets it uses, and only then becomes a new version. History is append-only: a
// rollback is a new version with an old version's content and pins. The last version this
// machine applied is cached on local disk so that a restart serves with the store or Vault down.
package versions

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"time"
)

// Version is one applied configuration. It is immutable once stored.
type Version struct {
	Number  int       `json:"number"`
	Hash    string    `json:"hash"` // config.Hash of Config
	Author  string    `json:"author"`
	Time    time.Time `json:"time"`
	Message string    `json:"message,omitempty"`
	// RollbackOf is the version whose content and pins this one restored (0: an ordinary apply).
	RollbackOf int `json:"rollback_of,omitempty"`
	// Tenant is the tenant whose admin made a tenant-scoped change ("" for gateway-wide ones):
	// retention keeps each tenant's newest versions apart (see Retained).
	Tenant string `json:"tenant,omitempty"`
	// Config is the YAML exactly as written.
	Config []byte `json:"-"`
	// SecretVersions pins each unversioned KV reference the providers use ("mount/path#field")
	// to the KV v2 version current at apply time.
	SecretVersions map[string]int `json:"secret_versions,omitempty"`
}

// MarshalJSON writes Config as text (it is YAML), not base64.
func (v Version) MarshalJSON() ([]byte, error) {
	type plain Version
	return json.Marshal(struct {
		plain
		Config string `json:"config"`
	}{plain(v), string(v.Config)})
}

func (v *Version) UnmarshalJSON(b []byte) error {
	type plain Version
	var w struct {
		plain
		Config string `json:"config"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*v = Version(w.plain)
	v.Config = []byte(w.Config)
	return nil
}

// Meta is v without its content, for listings.
func (v Version) Meta() Version {
	v.Config = nil
	return v
}

// Store keeps versions. Implementations are safe for concurrent use; Put is a compare-and-set so
// that two writers (two CLI runs, two replicas of a fleet) never both create version N.
type Store interface {
	// List returns the kept versions, oldest first.
	List(ctx context.Context) ([]Version, error)
	// Get returns version n, or an error wrapping ErrNotFound.
	Get(ctx context.Context, n int) (Version, error)
	// Latest returns the newest version, or an error wrapping ErrNotFound when there is none.
	Latest(ctx context.Context) (Version, error)
	// Put stores v, whose Number must be expectedLatest+1, only if the newest stored version is
	// still expectedLatest (0: the store is empty); otherwise it returns an error wrapping
	// ErrConflict. It then drops the oldest versions beyond the store's retention.
	Put(ctx context.Context, v Version, expectedLatest int) error
}

// DefaultKeep is how many versions a store keeps by default.
const DefaultKeep = 50

// Errors of stores and the manager.
var (
	ErrNotFound    = errors.New("config version not found")
	ErrConflict    = errors.New("config version conflict: another apply stored a version first")
	ErrUnavailable = errors.New("config store unavailable")
)

// DefaultKeepPerTenant is how many of each tenant's newest versions a store keeps beyond its
// overall retention, so that one tenant applying many versions cannot evict another tenant's
// rollback targets.
const DefaultKeepPerTenant = 10

// Retained reports which of vs (any order) a store keeps: the newest keep overall, and the
// newest min(DefaultKeepPerTenant, keep) of each tenant (gateway-wide changes count as one).
func Retained(vs []Version, keep int) map[int]bool {
	floor := min(DefaultKeepPerTenant, keep)
	sorted := slices.Clone(vs)
	slices.SortFunc(sorted, func(a, b Version) int { return b.Number - a.Number }) // newest first
	out := map[int]bool{}
	perTenant := map[string]int{}
	for i, v := range sorted {
		if i < keep || perTenant[v.Tenant] < floor {
			out[v.Number] = true
		}
		perTenant[v.Tenant]++
	}
	return out
}
