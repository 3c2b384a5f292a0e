package audit

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRotatingFileIsBounded: however many events, the audit files stay under
// maxBytes × (keep+1), the newest events are in the current file, and no line is split.
func TestRotatingFileIsBounded(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	f, err := OpenRotating(path, 4096, 2)
	if err != nil {
		t.Fatal(err)
	}
	sink := NewJSONLines(f)
	for i := range 1000 {
		_ = sink.Write(context.Background(), Admin{Actor: "ops", Action: "config.read", Version: i})
	}
	_ = f.Close()
	var total int64
	for _, p := range []string{path, path + ".1", path + ".2"} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if fi.Size() > 4096 {
			t.Errorf("%s has %d bytes, over the 4096 bound", p, fi.Size())
		}
		total += fi.Size()
		b, _ := os.ReadFile(p)
		if len(b) > 0 && b[len(b)-1] != '\n' {
			t.Errorf("%s ends in the middle of a line", p)
		}
	}
	if _, err := os.Stat(path + ".3"); err == nil {
		t.Error("a third rotated file was kept (keep is 2)")
	}
	b, _ := os.ReadFile(path)
	if !contains(b, `"version":999`) {
		t.Error("the newest event is not in the current file")
	}
	t.Logf("1000 events, %d bytes kept", total)
}

func contains(b []byte, s string) bool { return strings.Contains(string(b), s) }
