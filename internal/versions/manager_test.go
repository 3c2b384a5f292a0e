package versions

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/internal/failure"
	"github.com/keygate/keygate/keystore"
)

// testConfig is a valid config whose pay provider uses one KV secret, with a marker to make
// versions differ.
func testConfig(marker string) []byte {
	return []byte(fmt.Sprintf(`# %s
providers:
  - name: pay
    hosts: [pay.egress.local]
    upstream: {url: "https://pay.example.com"}
    secrets:
      app_secret: secret/keygate/pay#app_secret
      fixed: secret/keygate/pay#old@3
      hmac: transit:transit/pay
`, marker))
}

// fakeSecrets returns a settable current version for every reference.
type fakeSecrets struct {
	mu      sync.Mutex
	version int
	down    bool
	asked   []string
}

func (f *fakeSecrets) CurrentVersion(_ context.Context, ref keystore.Ref) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.asked = append(f.asked, ref.String())
	if f.down {
		return 0, fmt.Errorf("%s: %w", ref, keystore.ErrUnavailable)
	}
	return f.version, nil
}

// recorder is a Compiler that remembers what runs.
type recorder struct {
	mu      sync.Mutex
	calls   int
	running string
	pins    map[string]int
	fail    error
}

func (r *recorder) compile(_ context.Context, f *config.File, pins map[string]int) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	if r.fail != nil {
		return r.fail
	}
	r.running = f.Providers[0].Upstream.URL
	r.pins = pins
	return nil
}

func newTestManager(t *testing.T, dir string, sv SecretVersions) (*Manager, *recorder, *DiskStore) {
	t.Helper()
	store, err := OpenDisk(dir, 3)
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	m := NewManager(Options{Store: store, Compile: rec.compile, Secrets: sv,
		Now: func() time.Time { return time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC) }})
	return m, rec, store
}

func TestApplyAndHistory(t *testing.T) {
	ctx := context.Background()
	sv := &fakeSecrets{version: 4}
	m, rec, _ := newTestManager(t, t.TempDir(), sv)
	v, err := m.Apply(ctx, testConfig("one"), "alice", "first")
	if err != nil {
		t.Fatal(err)
	}
	if v.Number != 1 || v.Author != "alice" || v.Message != "first" || v.Hash != config.Hash(testConfig("one")) {
		t.Fatalf("version: %+v", v.Meta())
	}
	want := map[string]int{"secret/keygate/pay#app_secret": 4}
	if len(v.SecretVersions) != 1 || v.SecretVersions["secret/keygate/pay#app_secret"] != 4 || rec.pins["secret/keygate/pay#app_secret"] != 4 {
		t.Fatalf("pins: stored %v, compiled %v, want %v", v.SecretVersions, rec.pins, want)
	}
	if strings.Join(sv.asked, ",") != "secret/keygate/pay#app_secret" {
		t.Fatalf("asked for versions of %v: pinned and transit references must not be pinned", sv.asked)
	}
	if cur, ok := m.Current(); !ok || cur.Number != 1 {
		t.Fatalf("current: %+v %v", cur.Meta(), ok)
	}

	// The same content and pins again: no new version.
	if again, err := m.Apply(ctx, testConfig("one"), "bob", "again"); err != nil || again.Number != 1 {
		t.Fatalf("re-apply: %d, %v", again.Number, err)
	}
	if _, err := m.Apply(ctx, testConfig("two"), "bob", "second"); err != nil {
		t.Fatal(err)
	}
	h, err := m.History(ctx)
	if err != nil || len(h) != 2 || h[0].Number != 1 || h[1].Author != "bob" {
		t.Fatalf("history: %v %v", len(h), err)
	}
	d, err := m.Diff(ctx, 1, 2)
	if err != nil || !strings.Contains(d.Text, "-# one\n+# two\n") || len(d.Pins) != 0 {
		t.Fatalf("diff: %+v %v", d, err)
	}
}

func TestInvalidConfigIsNotApplied(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name, yaml, field string
		compileErr        error
	}{
		{"unknown field", "providers:\n  - name: pay\n    hostz: [a]\n", "providers[0].hostz", nil},
		{"validation", "providers:\n  - name: pay\n    hosts: [pay.local]\n    upstream: {url: \"ftp://x\"}\n", "providers[0].upstream.url", nil},
		{"bad secret ref", strings.Replace(string(testConfig("x")), "secret/keygate/pay#app_secret", "nohash", 1), "providers[0].secrets.app_secret", nil},
		{"compile", string(testConfig("x")), "providers[0].signing[0].key", config.Errorf("providers[0].signing[0].key", "no such secret")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, rec, store := newTestManager(t, t.TempDir(), &fakeSecrets{version: 1})
			if _, err := m.Apply(ctx, testConfig("good"), "a", ""); err != nil {
				t.Fatal(err)
			}
			rec.fail = c.compileErr
			_, err := m.Apply(ctx, []byte(c.yaml), "a", "")
			if err == nil || !strings.Contains(err.Error(), c.field) || failure.Status(err) != 400 {
				t.Fatalf("want a 400 naming %s, got %v", c.field, err)
			}
			if cur, _ := m.Current(); cur.Number != 1 || rec.running != "https://pay.example.com" {
				t.Fatalf("running changed to %d", cur.Number)
			}
			if l, _ := store.Latest(ctx); l.Number != 1 {
				t.Fatalf("stored version %d", l.Number)
			}
		})
	}
}

func TestRollbackRestoresContentAndPins(t *testing.T) {
	ctx := context.Background()
	sv := &fakeSecrets{version: 1}
	m, rec, _ := newTestManager(t, t.TempDir(), sv)
	v1, err := m.Apply(ctx, testConfig("one"), "a", "")
	if err != nil {
		t.Fatal(err)
	}
	sv.version = 2 // a rotation: the secret's KV version moves on
	v2, err := m.Apply(ctx, testConfig("two"), "a", "")
	if err != nil || v2.SecretVersions["secret/keygate/pay#app_secret"] != 2 {
		t.Fatalf("v2 pins %v, %v", v2.SecretVersions, err)
	}
	sv.down = true // a rollback needs no keystore: the pins come from the version
	v3, err := m.Rollback(ctx, 1, "ops", "")
	if err != nil {
		t.Fatal(err)
	}
	if v3.Number != 3 || v3.RollbackOf != 1 || string(v3.Config) != string(v1.Config) || v3.Message != "rollback to version 1" {
		t.Fatalf("rollback version: %+v", v3.Meta())
	}
	if v3.SecretVersions["secret/keygate/pay#app_secret"] != 1 || rec.pins["secret/keygate/pay#app_secret"] != 1 {
		t.Fatalf("rollback pins: stored %v, compiled %v; want v1's", v3.SecretVersions, rec.pins)
	}
	d := DiffVersions(v2, v3)
	if len(d.Pins) != 1 || d.Pins[0] != (PinChange{"secret/keygate/pay#app_secret", 2, 1}) {
		t.Fatalf("pin diff: %+v", d.Pins)
	}
	if _, err := m.Rollback(ctx, 99, "ops", ""); failure.Status(err) != 404 {
		t.Fatalf("rollback to a missing version: %v", err)
	}
}

func TestPinFailsClosed(t *testing.T) {
	m, rec, _ := newTestManager(t, t.TempDir(), &fakeSecrets{down: true})
	_, err := m.Apply(context.Background(), testConfig("x"), "a", "")
	if failure.Status(err) != 503 || !errors.Is(err, keystore.ErrUnavailable) || rec.calls != 0 {
		t.Fatalf("want 503 before compiling, got %v (compiled %d times)", err, rec.calls)
	}
}

func TestRetention(t *testing.T) {
	ctx := context.Background()
	m, _, store := newTestManager(t, t.TempDir(), nil) // keeps 3
	for i := range 5 {
		if _, err := m.Apply(ctx, testConfig(fmt.Sprint(i)), "a", ""); err != nil {
			t.Fatal(err)
		}
	}
	h, _ := m.History(ctx)
	if len(h) != 3 || h[0].Number != 3 || h[2].Number != 5 {
		t.Fatalf("kept %d versions starting at %d", len(h), h[0].Number)
	}
	if _, err := store.Get(ctx, 1); !errors.Is(err, ErrNotFound) {
		t.Fatalf("version 1 should be pruned: %v", err)
	}
}

// unreachable is a store whose backend is down.
type unreachable struct{}

func (unreachable) List(context.Context) ([]Version, error) { return nil, ErrUnavailable }
func (unreachable) Get(context.Context, int) (Version, error) {
	return Version{}, ErrUnavailable
}
func (unreachable) Latest(context.Context) (Version, error) { return Version{}, ErrUnavailable }
func (unreachable) Put(context.Context, Version, int) error { return ErrUnavailable }

func TestRestartWithStoreDownServesLastKnownGood(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	m, _, store := newTestManager(t, dir, &fakeSecrets{version: 7})
	if _, err := m.Apply(ctx, testConfig("one"), "a", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Apply(ctx, testConfig("two"), "a", ""); err != nil {
		t.Fatal(err)
	}

	// Restart: the store (say Vault) is unreachable, so is the keystore.
	rec := &recorder{}
	restarted := NewManager(Options{Store: unreachable{}, Compile: rec.compile,
		Secrets: &fakeSecrets{down: true}, LastKnownGood: store.LastKnownGood()})
	v, err := restarted.Restore(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if v.Number != 2 || !strings.Contains(string(v.Config), "# two") || rec.pins["secret/keygate/pay#app_secret"] != 7 {
		t.Fatalf("restored %d with pins %v", v.Number, rec.pins)
	}
	if cur, ok := restarted.Current(); !ok || cur.Number != 2 {
		t.Fatal("restored version is not current")
	}

	// A normal restart prefers the store.
	m2, rec2, _ := newTestManager(t, dir, nil)
	if v, err := m2.Restore(ctx); err != nil || v.Number != 2 || rec2.calls != 1 {
		t.Fatalf("restore from store: %d %v", v.Number, err)
	}

	// A first start has nothing to restore.
	m3, _, _ := newTestManager(t, t.TempDir(), nil)
	if _, err := m3.Restore(ctx); !errors.Is(err, ErrNotFound) {
		t.Fatalf("first start: %v", err)
	}
}

func TestStoreFailureKeepsPreviousRunning(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	m, rec, _ := newTestManager(t, dir, nil)
	if _, err := m.Apply(ctx, testConfig("one"), "a", ""); err != nil {
		t.Fatal(err)
	}
	// Another process stores version 2 behind this manager's back.
	other, _, _ := newTestManager(t, dir, nil)
	if _, err := other.Apply(ctx, []byte(strings.Replace(string(testConfig("other")), "pay.example.com", "other.example.com", 1)), "b", ""); err != nil {
		t.Fatal(err)
	}
	// This manager's apply reads latest=2 and stores 3; force a conflict via a racing Put.
	store, _ := OpenDisk(dir, 3)
	m.opts.Store = racingStore{store}
	_, err := m.Apply(ctx, []byte(strings.Replace(string(testConfig("mine")), "pay.example.com", "mine.example.com", 1)), "a", "")
	if !errors.Is(err, ErrConflict) {
		t.Fatalf("want a conflict, got %v", err)
	}
	if rec.running != "https://pay.example.com" {
		t.Fatalf("running %s after a failed store; want the previous config restored", rec.running)
	}
}

// racingStore stores a competing version just before every Put.
type racingStore struct{ *DiskStore }

func (r racingStore) Put(ctx context.Context, v Version, expected int) error {
	competitor := v
	competitor.Author = "racer"
	if err := r.DiskStore.Put(ctx, competitor, expected); err != nil {
		return err
	}
	return r.DiskStore.Put(ctx, v, expected)
}

func TestDiskStoreCrashSafety(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	store, err := OpenDisk(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	v := Version{Number: 1, Hash: config.Hash(testConfig("a")), Config: testConfig("a")}
	if err := store.Put(ctx, v, 0); err != nil {
		t.Fatal(err)
	}
	// A crash mid-write leaves only a temporary file: readers ignore it.
	if err := os.WriteFile(filepath.Join(dir, tempPrefix+"123"), []byte(`{"number": 2, "conf`), 0o600); err != nil {
		t.Fatal(err)
	}
	if l, err := store.Latest(ctx); err != nil || l.Number != 1 || string(l.Config) != string(testConfig("a")) {
		t.Fatalf("latest after crash: %d %v", l.Number, err)
	}
	// CAS: a stale writer cannot store version 2 twice, nor skip a number.
	v2 := Version{Number: 2, Config: []byte("x")}
	if err := store.Put(ctx, v2, 1); err != nil {
		t.Fatal(err)
	}
	if err := store.Put(ctx, v2, 1); !errors.Is(err, ErrConflict) {
		t.Fatalf("second put of version 2: %v", err)
	}
	if err := store.Put(ctx, Version{Number: 5}, 2); !errors.Is(err, ErrConflict) {
		t.Fatalf("put skipping numbers: %v", err)
	}
	// Put left no temporary files behind.
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), tempPrefix) && e.Name() != tempPrefix+"123" {
			t.Fatalf("temporary file %s left behind", e.Name())
		}
	}
	// The last-known-good file is replaced whole.
	lkg := store.LastKnownGood()
	for i := 1; i <= 3; i++ {
		if err := lkg.Save(Version{Number: i, Config: testConfig(fmt.Sprint(i))}); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := lkg.Load(); err != nil || got.Number != 3 || string(got.Config) != string(testConfig("3")) {
		t.Fatalf("last-known-good: %d %v", got.Number, err)
	}
}
