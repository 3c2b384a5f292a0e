package versions

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestUnwritableLastKnownGoodIsWarnedNotFatal: the version is stored and runs even when the
// last-known-good cache cannot be written; the failure is logged, a success is not.
func TestUnwritableLastKnownGoodIsWarnedNotFatal(t *testing.T) {
	ctx := context.Background()
	notADir := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(notADir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name   string
		lkg    string
		warned bool
	}{
		{"unwritable", filepath.Join(notADir, "lkg.json"), true},
		{"writable", filepath.Join(t.TempDir(), "lkg.json"), false},
	} {
		store, err := OpenDisk(t.TempDir(), 3)
		if err != nil {
			t.Fatal(err)
		}
		var logs bytes.Buffer
		rec := &recorder{}
		m := NewManager(Options{Store: store, Compile: rec.compile, LastKnownGood: &LastKnownGood{Path: tt.lkg},
			Logger: slog.New(slog.NewTextHandler(&logs, nil)), Now: func() time.Time { return time.Unix(0, 0) }})
		if v, err := m.Apply(ctx, testConfig("one"), "a", ""); err != nil || v.Number != 1 {
			t.Fatalf("%s: apply = %d, %v", tt.name, v.Number, err)
		}
		if got := strings.Contains(logs.String(), "cannot cache last-known-good config"); got != tt.warned {
			t.Errorf("%s: warned %v, want %v: %s", tt.name, got, tt.warned, logs.String())
		}
	}
}
