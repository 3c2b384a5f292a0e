package versions

import (
	"context"
	"fmt"
	"sort"

	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/internal/failure"
	"github.com/keygate/keygate/keystore"
)

// SecretVersions reports the current KV v2 version of a secret. The gateway adapts its keystore
// (Get on the unversioned reference returns Secret.Version); 0 means "not versioned" (the file
// keystore) and is not pinned.
type SecretVersions interface {
	CurrentVersion(ctx context.Context, ref keystore.Ref) (int, error)
}

// PinKeys lists the references of f that a version pins: every KV reference a provider uses
// without an explicit @version, in text form, sorted and unique.
func PinKeys(f *config.File) []string {
	seen := map[string]bool{}
	for _, p := range f.Providers {
		for _, s := range p.Secrets {
			ref, err := keystore.ParseRef(s)
			if err != nil || ref.Kind != keystore.KV || ref.Version != 0 {
				continue
			}
			seen[ref.String()] = true
		}
	}
	out := make([]string, 0, len(seen))
	for k := range seen {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// pinSecrets pins every unpinned KV reference of f: to keep[ref] when keep has it (a rollback,
// or another tenant's pins left alone), else to the version current now.
func pinSecrets(ctx context.Context, sv SecretVersions, f *config.File, keep map[string]int) (map[string]int, error) {
	pins := map[string]int{}
	for _, key := range PinKeys(f) {
		if n, ok := keep[key]; ok && n > 0 {
			pins[key] = n
			continue
		}
		if sv == nil {
			continue
		}
		ref, _ := keystore.ParseRef(key)
		n, err := sv.CurrentVersion(ctx, ref)
		if err != nil {
			kind := failure.Unavailable
			if k := failure.KindOf(err); k != failure.Internal && k != failure.Unavailable {
				kind = k
			}
			return nil, failure.Wrap(kind, "config", err, fmt.Sprintf("cannot pin the version of %s", key))
		}
		if n > 0 {
			pins[key] = n
		}
	}
	return pins, nil
}

// PinChange is one reference whose pinned version differs between two versions (0: unpinned or
// not used).
type PinChange struct {
	Ref  string `json:"ref"`
	From int    `json:"from"`
	To   int    `json:"to"`
}

// DiffPins lists the references pinned differently in a and b, sorted.
func DiffPins(a, b map[string]int) []PinChange {
	keys := map[string]bool{}
	for k := range a {
		keys[k] = true
	}
	for k := range b {
		keys[k] = true
	}
	var out []PinChange
	for k := range keys {
		if a[k] != b[k] {
			out = append(out, PinChange{Ref: k, From: a[k], To: b[k]})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Ref < out[j].Ref })
	return out
}

func equalPins(a, b map[string]int) bool { return len(DiffPins(a, b)) == 0 }
