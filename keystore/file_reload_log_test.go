package keystore_test

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keygate/keygate/keystore"
)

// syncBuffer is a log sink the keystore writes to from Get while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// TestFileKeystoreSaysWhyAnEditWasNotTaken: the operator of a file keystore learns from the log
// that an edit broke the file and the previous keys stay in use (with where the YAML is wrong,
// and no value), and that a good edit was taken; neither is reported as the other.
func TestFileKeystoreSaysWhyAnEditWasNotTaken(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys.yaml")
	if err := os.WriteFile(path, []byte("secret/a:\n  k: one\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	f, err := keystore.OpenFile(path, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ref := mustRef(t, "secret/a#k")

	// Bad YAML: the error says where, not what (the value may be a key).
	if err := os.WriteFile(path, []byte("secret/a:\n  k: [s3cr3t-v4lue\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	err = f.Reload()
	if err == nil || !strings.Contains(err.Error(), "not valid YAML at line") || strings.Contains(err.Error(), "s3cr3t") {
		t.Fatalf("reload of an unclosed list: want \"not valid YAML at line N\" without the value, got %v", err)
	}

	// The same edit found by a read: an error line in the log, the old key still served.
	// Write a different size so the edit is seen whatever the clock's resolution.
	for _, c := range []struct {
		contents, want, notWant, value string
	}{
		{"secret/a:\n  k: [s3cr3t-v4lue, x\n", "cannot be read", "file keystore reloaded", "one"},
		{"secret/a:\n  k: two\n", "file keystore reloaded", "cannot be read", "two"},
	} {
		before := len(logs.String())
		if err := os.WriteFile(path, []byte(c.contents), 0o600); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(5 * time.Second) // reads check the file once per FileReloadCheck
		for !strings.Contains(logs.String()[before:], "file keystore") {
			if time.Now().After(deadline) {
				t.Fatalf("edit %q: no log line about it", c.contents)
			}
			_, _ = f.Get(t.Context(), ref)
			time.Sleep(50 * time.Millisecond)
		}
		got := logs.String()[before:]
		if !strings.Contains(got, c.want) || strings.Contains(got, c.notWant) || strings.Contains(got, "s3cr3t") {
			t.Fatalf("edit %q: log %q, want %q and not %q (nor the value)", c.contents, got, c.want, c.notWant)
		}
		if s, err := f.Get(t.Context(), ref); err != nil || string(s.Value.Reveal()) != c.value {
			t.Fatalf("edit %q: Get err %v, want the value %q", c.contents, err, c.value)
		}
	}
}
