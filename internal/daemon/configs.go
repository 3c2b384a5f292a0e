package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/keygate/keygate/internal/app"
	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/internal/gateway"
	"github.com/keygate/keygate/internal/versions"
	"github.com/keygate/keygate/keystore"
	"github.com/keygate/keygate/xds"
)

// publisher makes a compiled config live: keygate's snapshot and Envoy's resources together.
// It is the versions.Compiler, so nothing becomes a version unless both succeeded.
type publisher struct {
	app *app.App
	xds *xds.Server
	dir string // relative paths in a config resolve against the config file's folder
	// maxBody is the body limit the ext_proc gRPC server's message size was set from when it
	// started (0 before): a config may lower the limit live, not raise it above that.
	maxBody int64
}

func (p *publisher) compile(ctx context.Context, f *config.File, pins map[string]int) error {
	app.Prepare(f, p.dir)
	snap, err := p.app.Compile(f, gateway.Meta{Pins: pins})
	if err != nil {
		return err
	}
	if p.maxBody > 0 && snap.MaxBody > p.maxBody {
		// Envoy would buffer bodies the gRPC server then refuses (a 500 for each): refuse the
		// config instead, with what to do.
		return config.Errorf("limits.max_body_bytes", "%d is above the %d keygate serve started with (its ext_proc message size): restart keygate to raise it", snap.MaxBody, p.maxBody)
	}
	// xDS validates the Envoy side before anything is swapped: a config Envoy would reject is
	// refused whole, and keygate keeps serving the previous snapshot.
	if _, err := p.xds.Publish(ctx, f); err != nil {
		return err
	}
	p.app.Publish(snap)
	return nil
}

// secretVersions pins the KV version each secret reference resolves to now, asking Vault past
// the cache (0 for the file keystore, which has no versions: not pinned).
type secretVersions struct{ store keystore.Getter }

func (s secretVersions) CurrentVersion(ctx context.Context, ref keystore.Ref) (int, error) {
	get := s.store.Get
	if r, ok := s.store.(keystore.Refresher); ok {
		get = r.Refresh
	}
	sec, err := get(ctx, ref.Unversioned())
	if err != nil {
		return 0, err
	}
	return sec.Version, nil
}

// configs is the versions manager as the admin API and the daemon use it, telling onApplied
// (metrics, logs) about every version that became current.
type configs struct {
	*versions.Manager
	onApplied func(versions.Version)
	// onFailed hears of a change the daemon tried on its own and could not apply (source
	// "file" or "store"); admin API callers get their error instead. May be nil.
	onFailed func(source string)
}

func (c configs) failed(source string) {
	if c.onFailed != nil {
		c.onFailed(source)
	}
}

func (c configs) Apply(ctx context.Context, data []byte, author, message string) (versions.Version, error) {
	return c.done(c.Manager.Apply(ctx, data, author, message))
}

func (c configs) Commit(ctx context.Context, ch versions.Change) (versions.Version, error) {
	return c.done(c.Manager.Commit(ctx, ch))
}

func (c configs) done(v versions.Version, err error) (versions.Version, error) {
	if err == nil {
		c.onApplied(v)
	}
	return v, err
}

// fileMark remembers the hash of the config file content last applied and the version it
// became, so that the file is applied when it was edited, not merely because it differs from
// the current version (which the admin API may have changed since), and so that an edit is
// based on the version the file last made (see fileChange).
type fileMark struct{ path string }

func (m fileMark) load() (hash string, version int) {
	b, _ := os.ReadFile(m.path)
	if _, err := fmt.Sscanf(string(b), "%s %d", &hash, &version); err != nil {
		return strings.TrimSpace(string(b)), 0 // written by an older keygate: the hash alone
	}
	return hash, version
}

func (m fileMark) save(hash string, version int) {
	_ = os.WriteFile(m.path, []byte(fmt.Sprintf("%s %d\n", hash, version)), 0o600)
}

// fileChange is an edit of the config file as a change: based on the version the file last
// became, so that a file edit never silently drops what the admin API or the CLI stored since
// (tenants, credentials handed to callers, providers). The ownership model (docs/admin.md):
// the file and the API own the same config; an edit of the file applies only on top of the
// version it produced. When other changes came after it, the edit is refused with ErrStale
// naming the versions, logged at error and audited, and keygate keeps serving; the operator
// brings those changes into the file (keygate config show) or, to drop them on purpose,
// restarts with --config-file-wins (base 0).
func fileChange(data []byte, mark fileMark, fileWins bool, author, path string) versions.Change {
	_, base := mark.load()
	if fileWins {
		base = 0
	}
	return versions.Change{Config: data, Base: base, Author: author, Message: "config file " + path}
}

// startConfig brings the config up at start: the newest stored version (or, with the store
// unreachable, the last-known-good one), then the config file if it was edited while keygate
// was down. A broken or unreadable file does not stop a keygate that has a version to serve.
// It returns the hash of the file content it dealt with ("" if unreadable): the watcher starts
// from it, so an edit made after this read is applied, not taken as already seen.
func startConfig(ctx context.Context, c configs, path string, mark fileMark, fileWins bool, log *slog.Logger) (string, error) {
	cur, err := c.Restore(ctx)
	restored := err == nil
	switch {
	case restored:
		log.Info("config restored", "version", cur.Number, "hash", cur.Hash)
	case errors.Is(err, versions.ErrNotFound):
		log.Info("no stored config version: first start")
	default:
		log.Warn("no config version could be restored", "err", err)
	}
	data, ferr := os.ReadFile(path)
	if ferr != nil {
		if restored {
			log.Warn("config file unreadable: serving the restored version", "err", ferr)
			return "", nil
		}
		return "", fmt.Errorf("read config: %w", ferr)
	}
	hash := config.Hash(data)
	if markHash, _ := mark.load(); restored && (hash == cur.Hash || hash == markHash) {
		if hash == cur.Hash {
			mark.save(hash, cur.Number)
		}
		return hash, nil
	}
	change := fileChange(data, mark, fileWins, "keygate serve", path)
	if !restored {
		change.Base = 0 // nothing stored to lose
	}
	v, err := c.Commit(ctx, change)
	if errors.Is(err, versions.ErrConflict) && !errors.Is(err, versions.ErrStale) {
		// Another replica stored a version first (replicas of a fleet starting together):
		// take the stored one, and apply the file over it only if it says something else.
		if cur, rerr := c.Restore(ctx); rerr == nil {
			restored = true
			if cur.Hash == hash {
				mark.save(hash, cur.Number)
				return hash, nil
			}
			v, err = c.Commit(ctx, fileChange(data, mark, fileWins, "keygate serve", path))
		}
	}
	if err != nil {
		if restored {
			log.Error("config file refused: serving the restored version", "err", err)
			return hash, nil
		}
		return "", fmt.Errorf("%s: %w", path, err)
	}
	mark.save(hash, v.Number)
	return hash, nil
}
