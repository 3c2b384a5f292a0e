package versions

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"sync"
	"time"

	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/internal/failure"
)

// Compiler compiles a validated config with its pinned secret versions and, on success, makes
// it the running one (the gateway swaps its snapshot). An error means nothing changed; it
// should name the config field (config.FieldError).
type Compiler func(ctx context.Context, f *config.File, pins map[string]int) error

// Options configure a Manager.
type Options struct {
	Store   Store    // required
	Compile Compiler // required
	// Secrets pins KV versions; nil pins nothing (the file keystore has no versions).
	Secrets SecretVersions
	// LastKnownGood is the local cache of the last applied version; nil uses the store's own
	// when the store is a *DiskStore, else none.
	LastKnownGood *LastKnownGood
	Now           func() time.Time
	Logger        *slog.Logger
}

func (o *Options) defaults() {
	if o.LastKnownGood == nil {
		if d, ok := o.Store.(*DiskStore); ok {
			o.LastKnownGood = d.LastKnownGood()
		}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// Manager is the one owner of the running config. Every change, whoever makes it (start-up,
// file watcher, store follower, admin API, CLI), runs the same flow under one lock: parse ->
// validate -> pin -> check the base -> compile (and swap) -> store -> cache as last-known-good.
// Two compiles never interleave, so keygate's snapshot and Envoy's resources always come from
// the same version.
type Manager struct {
	opts    Options
	mu      sync.Mutex // serializes every compile: apply, rollback, restore, last-known-good
	curMu   sync.RWMutex
	current *Version
}

// Change is one change of the running config.
type Change struct {
	Config []byte         // the whole next config (YAML)
	Keep   map[string]int // pins to keep; the other references are pinned to their current version
	// Base is the version the change was built from. When another version was stored since,
	// the change is refused with ErrStale (wrapping ErrConflict, a 409) instead of silently
	// undoing that version. 0 applies unconditionally (an operator's whole config).
	Base            int
	Author, Message string
	// Tenant is the tenant a tenant-scoped change was made for ("" for gateway-wide ones).
	Tenant string
	// RollbackOf is the version whose content this change restores (0: an ordinary change).
	RollbackOf int
}

// ErrStale is a change built from a version that is no longer the newest.
var ErrStale = fmt.Errorf("%w: the change was built from an older version", ErrConflict)

// NewManager returns a manager; nothing runs until Apply, Restore or LoadLastKnownGood.
func NewManager(opts Options) *Manager {
	opts.defaults()
	return &Manager{opts: opts}
}

// Current returns the running version, false before the first successful apply or restore.
func (m *Manager) Current() (Version, bool) {
	m.curMu.RLock()
	defer m.curMu.RUnlock()
	if m.current == nil {
		return Version{}, false
	}
	return *m.current, true
}

func (m *Manager) setCurrent(v Version) {
	m.curMu.Lock()
	m.current = &v
	m.curMu.Unlock()
	if l := m.opts.LastKnownGood; l != nil {
		if err := l.Save(v); err != nil {
			m.opts.Logger.Warn("cannot cache last-known-good config", "version", v.Number, "err", err)
		}
	}
}

// Apply makes data (a whole config as YAML) the running config and a new version. An invalid
// config (parse, validation or compile error, each naming the field) is never applied or
// stored. Applying the content and pins of the latest version again stores nothing new.
func (m *Manager) Apply(ctx context.Context, data []byte, author, message string) (Version, error) {
	return m.apply(ctx, Change{Config: data, Author: author, Message: message}, 0)
}

// Commit applies c, refusing it with ErrStale if c.Base is set and no longer the newest version.
func (m *Manager) Commit(ctx context.Context, c Change) (Version, error) {
	return m.apply(ctx, c, c.RollbackOf)
}

// Rollback makes a new version with the content and pinned secret versions of version n, so the
// keys that config used come back too. History is append-only.
func (m *Manager) Rollback(ctx context.Context, n int, author, message string) (Version, error) {
	return m.RollbackFrom(ctx, n, 0, author, message)
}

// RollbackFrom is Rollback refused with ErrStale when base is set and no longer the newest.
func (m *Manager) RollbackFrom(ctx context.Context, n, base int, author, message string) (Version, error) {
	old, err := m.opts.Store.Get(ctx, n)
	if err != nil {
		return Version{}, storeFailure(err)
	}
	if message == "" {
		message = fmt.Sprintf("rollback to version %d", n)
	}
	return m.apply(ctx, Change{Config: old.Config, Keep: old.SecretVersions, Base: base, Author: author, Message: message}, n)
}

func (m *Manager) apply(ctx context.Context, c Change, rollbackOf int) (Version, error) {
	data, author, message := c.Config, c.Author, c.Message
	f, err := parseValid(data)
	if err != nil {
		return Version{}, err
	}
	pins, err := pinSecrets(ctx, m.opts.Secrets, f, c.Keep)
	if err != nil {
		return Version{}, err
	}

	m.mu.Lock()
	defer m.mu.Unlock()
	latest, err := m.opts.Store.Latest(ctx)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return Version{}, storeFailure(err)
	}
	hash := config.Hash(data)
	unchanged := latest.Number > 0 && latest.Hash == hash && equalPins(latest.SecretVersions, pins)
	if c.Base > 0 && c.Base != latest.Number && !unchanged {
		return Version{}, fmt.Errorf("%w: it was based on version %d, and version %d (by %s) is now the newest; read it and retry",
			ErrStale, c.Base, latest.Number, latest.Author)
	}
	if unchanged {
		if cur, ok := m.Current(); ok && cur.Number == latest.Number {
			return cur, nil
		}
	}
	if err := m.opts.Compile(ctx, f, maps.Clone(pins)); err != nil {
		return Version{}, compileFailure(err)
	}
	if unchanged {
		m.setCurrent(latest)
		return latest, nil
	}
	v := Version{
		Number: latest.Number + 1, Hash: hash, Author: author, Time: m.opts.Now().UTC(),
		Message: message, RollbackOf: rollbackOf, Config: data, SecretVersions: pins, Tenant: c.Tenant,
	}
	if err := m.opts.Store.Put(ctx, v, latest.Number); err != nil {
		m.restorePrevious(ctx)
		return Version{}, storeFailure(err)
	}
	m.setCurrent(v)
	m.opts.Logger.Info("config applied", "version", v.Number, "hash", v.Hash, "author", author, "rollback_of", rollbackOf)
	return v, nil
}

// restorePrevious re-compiles the running version after a compiled config could not be stored,
// so that what runs is always a stored version.
func (m *Manager) restorePrevious(ctx context.Context) {
	cur, ok := m.Current()
	if !ok {
		return
	}
	f, err := parseValid(cur.Config)
	if err == nil {
		err = m.opts.Compile(ctx, f, maps.Clone(cur.SecretVersions))
	}
	if err != nil {
		m.opts.Logger.Error("cannot restore the running config after a failed store", "version", cur.Number, "err", err)
	}
}

// Restore activates the newest stored version at startup, falling back to the last-known-good
// cache when the store is unreachable or its newest version does not compile here. An error
// wrapping ErrNotFound means there is nothing to restore (a first start).
func (m *Manager) Restore(ctx context.Context) (Version, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	latest, err := m.opts.Store.Latest(ctx)
	if err == nil {
		if cur, ok := m.Current(); ok && cur.Number == latest.Number && cur.Hash == latest.Hash {
			return cur, nil // already running: the store follower asks on every tick
		}
		if err = m.activate(ctx, latest); err == nil {
			return latest, nil
		}
	}
	m.opts.Logger.Warn("config store unusable, trying last-known-good", "err", err)
	v, lerr := m.loadLastKnownGood(ctx)
	if lerr != nil {
		return Version{}, errors.Join(storeFailure(err), lerr)
	}
	return v, nil
}

// LoadLastKnownGood compiles and activates the locally cached last-known-good version without
// touching the store (or Vault, beyond what compiling needs).
func (m *Manager) LoadLastKnownGood(ctx context.Context) (Version, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.loadLastKnownGood(ctx)
}

func (m *Manager) loadLastKnownGood(ctx context.Context) (Version, error) {
	if m.opts.LastKnownGood == nil {
		return Version{}, fmt.Errorf("no last-known-good cache configured: %w", ErrNotFound)
	}
	v, err := m.opts.LastKnownGood.Load()
	if err != nil {
		return Version{}, err
	}
	if err := m.activate(ctx, v); err != nil {
		return Version{}, err
	}
	return v, nil
}

// activate compiles v and makes it current; the caller holds m.mu.
func (m *Manager) activate(ctx context.Context, v Version) error {
	f, err := parseValid(v.Config)
	if err != nil {
		return err
	}
	if err := m.opts.Compile(ctx, f, maps.Clone(v.SecretVersions)); err != nil {
		return compileFailure(err)
	}
	m.setCurrent(v)
	return nil
}

// History lists the kept versions, oldest first.
func (m *Manager) History(ctx context.Context) ([]Version, error) {
	vs, err := m.opts.Store.List(ctx)
	return vs, storeFailure(err)
}

// Get returns version n.
func (m *Manager) Get(ctx context.Context, n int) (Version, error) {
	v, err := m.opts.Store.Get(ctx, n)
	return v, storeFailure(err)
}

// Diff compares versions a and b.
func (m *Manager) Diff(ctx context.Context, a, b int) (Diff, error) {
	va, err := m.Get(ctx, a)
	if err != nil {
		return Diff{}, err
	}
	vb, err := m.Get(ctx, b)
	if err != nil {
		return Diff{}, err
	}
	return DiffVersions(va, vb), nil
}

// Diff is the difference between two versions.
type Diff struct {
	From int         `json:"from"`
	To   int         `json:"to"`
	Text string      `json:"diff"` // unified line diff of the YAML; "" when equal
	Pins []PinChange `json:"pins,omitempty"`
}

// DiffVersions compares two versions' content and pins.
func DiffVersions(a, b Version) Diff {
	return Diff{
		From: a.Number, To: b.Number,
		Text: UnifiedDiff(fmt.Sprintf("version %d", a.Number), fmt.Sprintf("version %d", b.Number), a.Config, b.Config),
		Pins: DiffPins(a.SecretVersions, b.SecretVersions),
	}
}

func parseValid(data []byte) (*config.File, error) {
	f, err := config.Parse(data)
	if err != nil {
		return nil, failure.Wrap(failure.BadRequest, "config", err, "")
	}
	if err := f.Validate(); err != nil {
		return nil, failure.Wrap(failure.BadRequest, "config", err, "")
	}
	return f, nil
}

func compileFailure(err error) error {
	var fe *failure.Error
	if errors.As(err, &fe) {
		return err
	}
	return failure.Wrap(failure.BadRequest, "config", err, "")
}

// storeFailure classifies store errors; ErrConflict and ErrNotFound stay visible to errors.Is.
func storeFailure(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrNotFound):
		return failure.Wrap(failure.NotFound, "config", err, "")
	case errors.Is(err, ErrConflict):
		return err
	default:
		return failure.Wrap(failure.Unavailable, "config", err, "")
	}
}
