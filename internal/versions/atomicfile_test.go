package versions

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// TestCreateFileNeverReplaces: createFile is the compare-and-set between keygate processes
// sharing a versions directory (each checks the latest number, then creates the next): when
// another process created the file in between, it fails with fs.ErrExist and the other's
// content stays.
func TestCreateFileNeverReplaces(t *testing.T) {
	path := filepath.Join(t.TempDir(), "000002.json")
	if err := createFile(path, []byte("first")); err != nil {
		t.Fatal(err)
	}
	if err := createFile(path, []byte("second")); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("second create: %v, want fs.ErrExist", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "first" {
		t.Errorf("content %q after a refused create, want the first writer's", b)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("%d files left, want only the version (no temporary file)", len(entries))
	}
}

// TestVersionZeroIsNoVersion: version numbers start at 1; a stray 000000.json (or a negative
// number) in the directory is not listed as a version.
func TestVersionZeroIsNoVersion(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	store, err := OpenDisk(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Put(ctx, Version{Number: 1, Config: testConfig("a")}, 0); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"000000.json", "-1.json"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(`{"number": 0}`), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	vs, err := store.List(ctx)
	if err != nil || len(vs) != 1 || vs[0].Number != 1 {
		t.Fatalf("List = %d versions, %v; want only version 1", len(vs), err)
	}
}
