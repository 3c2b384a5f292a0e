package versions

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// tempPrefix marks files being written; readers ignore them and a crash leaves only these.
const tempPrefix = ".tmp-"

// tempFile is the part of *os.File that writeTemp uses.
type tempFile interface {
	io.Writer
	Sync() error
	Close() error
	Name() string
}

// createTemp opens a new temporary file in dir; a variable so that a test can make its write,
// sync or close fail (a full disk, an I/O error), which no real filesystem does on demand.
var createTemp = func(dir string) (tempFile, error) { return os.CreateTemp(dir, tempPrefix+"*") }

// writeTemp writes data to a new temporary file in dir and syncs it, so that a later rename or
// link publishes complete content or nothing.
func writeTemp(dir string, data []byte) (string, error) {
	f, err := createTemp(dir)
	if err != nil {
		return "", err
	}
	name := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(name)
		return "", err
	}
	return name, nil
}

// replaceFile atomically replaces path with data (write temp, fsync, rename, fsync dir).
func replaceFile(path string, data []byte) error {
	dir := filepath.Dir(path)
	tmp, err := writeTemp(dir, data)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("replace %s: %w", path, err)
	}
	syncDir(dir)
	return nil
}

// createFile atomically creates path with data; it fails with os.ErrExist if path exists, which
// makes it a compare-and-set across processes (link(2) never replaces).
func createFile(path string, data []byte) error {
	dir := filepath.Dir(path)
	tmp, err := writeTemp(dir, data)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer func() { _ = os.Remove(tmp) }()
	if err := os.Link(tmp, path); err != nil {
		return err
	}
	syncDir(dir)
	return nil
}

// syncDir makes a rename durable; it is best effort (some filesystems refuse it).
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
}
