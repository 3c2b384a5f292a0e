package versions

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// DiskStore is the single-machine store: one JSON file per version in a directory
// (000001.json, ...), each created atomically and never rewritten, plus the last-known-good
// file beside them. Creating version N's file is the compare-and-set: it fails if the file
// exists, so two processes sharing the directory never both store N.
type DiskStore struct {
	dir  string
	keep int
}

var _ Store = (*DiskStore)(nil)

// LastKnownGoodFile is the name of the last-known-good file in a DiskStore's directory.
const LastKnownGoodFile = "last-known-good.json"

// OpenDisk opens (creating if needed) a store in dir keeping the newest keep versions
// (DefaultKeep when keep <= 0).
func OpenDisk(dir string, keep int) (*DiskStore, error) {
	if keep <= 0 {
		keep = DefaultKeep
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("config store %s: %w", dir, err)
	}
	return &DiskStore{dir: dir, keep: keep}, nil
}

// LastKnownGood is the last-known-good cache that lives beside the versions.
func (s *DiskStore) LastKnownGood() *LastKnownGood {
	return &LastKnownGood{Path: filepath.Join(s.dir, LastKnownGoodFile)}
}

func (s *DiskStore) path(n int) string { return filepath.Join(s.dir, fmt.Sprintf("%06d.json", n)) }

// numbers lists the stored version numbers, ascending. Temporary files are ignored.
func (s *DiskStore) numbers() ([]int, error) {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	var out []int
	for _, e := range entries {
		base, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		if n, err := strconv.Atoi(base); err == nil && n > 0 {
			out = append(out, n)
		}
	}
	sort.Ints(out)
	return out, nil
}

func (s *DiskStore) List(ctx context.Context) ([]Version, error) {
	nums, err := s.numbers()
	if err != nil {
		return nil, err
	}
	out := make([]Version, 0, len(nums))
	for _, n := range nums {
		v, err := s.Get(ctx, n)
		if errors.Is(err, ErrNotFound) {
			continue // pruned meanwhile
		}
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

func (s *DiskStore) Get(_ context.Context, n int) (Version, error) {
	data, err := os.ReadFile(s.path(n))
	if errors.Is(err, fs.ErrNotExist) {
		return Version{}, fmt.Errorf("version %d: %w", n, ErrNotFound)
	}
	if err != nil {
		return Version{}, fmt.Errorf("version %d: %w: %v", n, ErrUnavailable, err)
	}
	var v Version
	if err := json.Unmarshal(data, &v); err != nil {
		return Version{}, fmt.Errorf("version %d: corrupt file %s: %v", n, s.path(n), err)
	}
	return v, nil
}

func (s *DiskStore) Latest(ctx context.Context) (Version, error) {
	nums, err := s.numbers()
	if err != nil {
		return Version{}, err
	}
	if len(nums) == 0 {
		return Version{}, fmt.Errorf("latest: %w", ErrNotFound)
	}
	return s.Get(ctx, nums[len(nums)-1])
}

func (s *DiskStore) Put(_ context.Context, v Version, expectedLatest int) error {
	nums, err := s.numbers()
	if err != nil {
		return err
	}
	latest := 0
	if len(nums) > 0 {
		latest = nums[len(nums)-1]
	}
	if latest != expectedLatest || v.Number != expectedLatest+1 {
		return fmt.Errorf("put version %d (latest %d, expected %d): %w", v.Number, latest, expectedLatest, ErrConflict)
	}
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	if err := createFile(s.path(v.Number), data); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("put version %d: %w", v.Number, ErrConflict)
		}
		return fmt.Errorf("put version %d: %w: %v", v.Number, ErrUnavailable, err)
	}
	if len(nums)+1 > s.keep {
		s.prune()
	}
	return nil
}

// prune removes the versions Retained does not keep.
func (s *DiskStore) prune() {
	vs, err := s.List(context.Background())
	if err != nil {
		return // retried at the next Put
	}
	keep := Retained(vs, s.keep)
	for _, v := range vs {
		if !keep[v.Number] {
			_ = os.Remove(s.path(v.Number))
		}
	}
}
