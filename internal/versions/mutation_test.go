package versions

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/internal/failure"
	"github.com/keygate/keygate/keystore"
)

// faultyFile is a real temporary file whose write, sync or close fails on demand.
type faultyFile struct {
	*os.File
	fail string
}

var errInjected = errors.New("injected I/O error")

func (f faultyFile) Write(b []byte) (int, error) {
	if f.fail == "write" {
		return 0, errInjected
	}
	return f.File.Write(b)
}

func (f faultyFile) Sync() error {
	if f.fail == "sync" {
		return errInjected
	}
	return f.File.Sync()
}

func (f faultyFile) Close() error {
	err := f.File.Close()
	if f.fail == "close" {
		return errInjected
	}
	return err
}

// TestFailedWriteSyncOrCloseIsAnError: a version file whose write, fsync or close failed may
// be incomplete; it must never be published (renamed or linked into place), and the
// temporary file is removed.
func TestFailedWriteSyncOrCloseIsAnError(t *testing.T) {
	for _, fail := range []string{"write", "sync", "close"} {
		t.Run(fail, func(t *testing.T) {
			orig := createTemp
			t.Cleanup(func() { createTemp = orig })
			createTemp = func(dir string) (tempFile, error) {
				f, err := os.CreateTemp(dir, tempPrefix+"*")
				if err != nil {
					return nil, err
				}
				return faultyFile{File: f, fail: fail}, nil
			}
			dir := t.TempDir()
			path := filepath.Join(dir, "000001.json")
			if err := createFile(path, []byte("new")); !errors.Is(err, errInjected) {
				t.Errorf("createFile with a failed %s: %v, want the I/O error", fail, err)
			}
			if err := os.WriteFile(path, []byte("old"), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := replaceFile(path, []byte("new")); !errors.Is(err, errInjected) {
				t.Errorf("replaceFile with a failed %s: %v, want the I/O error", fail, err)
			}
			if b, _ := os.ReadFile(path); string(b) != "old" {
				t.Errorf("content %q after a failed %s, want the old content", b, fail)
			}
			entries, _ := os.ReadDir(dir)
			if len(entries) != 1 {
				t.Errorf("%d files in the directory, want only the old one (no temporary file left)", len(entries))
			}
		})
	}
}

// TestSameContentAsTheLatestVersionDoesNotRecompile: applying what the latest version already
// holds, or a store poll (Restore) with nothing new, compiles nothing: the follower polls on
// every tick and must not rebuild the running config each time.
func TestSameContentAsTheLatestVersionDoesNotRecompile(t *testing.T) {
	ctx := context.Background()
	m, rec, _ := newTestManager(t, t.TempDir(), &fakeSecrets{version: 1})
	if _, err := m.Apply(ctx, testConfig("one"), "a", ""); err != nil {
		t.Fatal(err)
	}
	calls := rec.calls
	if v, err := m.Apply(ctx, testConfig("one"), "a", ""); err != nil || v.Number != 1 {
		t.Fatalf("re-apply: %d, %v", v.Number, err)
	}
	if v, err := m.Restore(ctx); err != nil || v.Number != 1 {
		t.Fatalf("restore: %d, %v", v.Number, err)
	}
	if rec.calls != calls {
		t.Errorf("%d compiles for an unchanged config and a poll, want none", rec.calls-calls)
	}
}

// TestIdenticalVersionStoredElsewhereIsFollowed: another process (a replica, the CLI) stored
// a newer version with the content this one runs (two, then one again). Applying that content
// here, or polling the store, makes the newer version the running one: Current must name a
// stored version that is the latest, not the older one with the same content.
func TestIdenticalVersionStoredElsewhereIsFollowed(t *testing.T) {
	for _, via := range []string{"apply", "restore"} {
		t.Run(via, func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			sv := &fakeSecrets{version: 1}
			here, _, _ := newTestManager(t, dir, sv)
			other, _, _ := newTestManager(t, dir, sv)
			if _, err := here.Apply(ctx, testConfig("one"), "a", ""); err != nil {
				t.Fatal(err)
			}
			for _, marker := range []string{"two", "one"} {
				if _, err := other.Apply(ctx, testConfig(marker), "b", ""); err != nil {
					t.Fatal(err)
				}
			}
			var v Version
			var err error
			if via == "apply" {
				v, err = here.Apply(ctx, testConfig("one"), "a", "")
			} else {
				v, err = here.Restore(ctx)
			}
			if err != nil || v.Number != 3 {
				t.Fatalf("%s: version %d, %v; want 3, the latest, with the same content", via, v.Number, err)
			}
			if cur, _ := here.Current(); cur.Number != 3 {
				t.Errorf("running version %d after %s, want 3", cur.Number, via)
			}
		})
	}
}

// failingPut is a store whose Put fails (the disk full, Vault gone) once armed.
type failingPut struct {
	Store
	fail bool
}

func (s *failingPut) Put(ctx context.Context, v Version, expectedLatest int) error {
	if s.fail {
		return fmt.Errorf("put: %w", ErrUnavailable)
	}
	return s.Store.Put(ctx, v, expectedLatest)
}

// TestFailedRestoreAfterAFailedStoreIsLogged: when a compiled config cannot be stored, the
// running version is compiled again; if that fails too, what runs is no stored version and an
// operator must know: it is logged as an error, and a restore that worked is not.
func TestFailedRestoreAfterAFailedStoreIsLogged(t *testing.T) {
	ctx := context.Background()
	disk, err := OpenDisk(t.TempDir(), 3)
	if err != nil {
		t.Fatal(err)
	}
	store := &failingPut{Store: disk}
	calls, failCall := 0, 0
	compile := func(context.Context, *config.File, map[string]int) error {
		calls++
		if calls == failCall {
			return errors.New("compile failed")
		}
		return nil
	}
	var logs bytes.Buffer
	m := NewManager(Options{Store: store, Compile: compile, LastKnownGood: &LastKnownGood{Path: filepath.Join(t.TempDir(), "lkg.json")},
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if _, err := m.Apply(ctx, testConfig("one"), "a", ""); err != nil {
		t.Fatal(err)
	}
	store.fail = true
	const msg = "cannot restore the running config"
	if _, err := m.Apply(ctx, testConfig("two"), "a", ""); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("apply with the store failing: %v", err)
	}
	if strings.Contains(logs.String(), msg) {
		t.Errorf("a restore that worked was logged as failed: %s", logs.String())
	}
	failCall = calls + 2 // the new config compiles, the restore of the running one fails
	if _, err := m.Apply(ctx, testConfig("three"), "a", ""); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("apply with the store failing: %v", err)
	}
	if !strings.Contains(logs.String(), msg) || !strings.Contains(logs.String(), "level=ERROR") {
		t.Errorf("a failed restore was not logged as an error: %q", logs.String())
	}
}

// TestPinFailureKeepsItsKind: a secret whose version cannot be read because the policy denies
// it (or it does not exist) fails the change with that kind, so the admin API answers 403 or
// 404 rather than "unavailable"; an internal or unavailable failure is "unavailable".
func TestPinFailureKeepsItsKind(t *testing.T) {
	f, err := parseValid(testConfig("one"))
	if err != nil {
		t.Fatal(err)
	}
	for kind, want := range map[failure.Kind]failure.Kind{
		failure.Forbidden: failure.Forbidden, failure.NotFound: failure.NotFound,
		failure.Internal: failure.Unavailable, failure.Unavailable: failure.Unavailable,
	} {
		sv := errSecrets{failure.New(kind, "keystore", "cannot read")}
		_, err := pinSecrets(context.Background(), sv, f, nil)
		if got := failure.KindOf(err); got != want {
			t.Errorf("a %s failure pinning: kind %s, want %s (%v)", kind, got, want, err)
		}
	}
}

type errSecrets struct{ err error }

func (e errSecrets) CurrentVersion(context.Context, keystore.Ref) (int, error) { return 0, e.err }

// TestUnversionedSecretIsNotPinned: a keystore without versions answers 0 (the file
// keystore); nothing is pinned, and the version records no pin of 0.
func TestUnversionedSecretIsNotPinned(t *testing.T) {
	m, rec, _ := newTestManager(t, t.TempDir(), &fakeSecrets{version: 0})
	v, err := m.Apply(context.Background(), testConfig("one"), "a", "")
	if err != nil {
		t.Fatal(err)
	}
	if len(v.SecretVersions) != 0 || len(rec.pins) != 0 {
		t.Errorf("pins %v (compiled %v), want none", v.SecretVersions, rec.pins)
	}
}
