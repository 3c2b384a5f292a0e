package keystore_test

import (
	"context"
	"strings"
	"testing"

	"github.com/keygate/keygate/keystore"
)

// TestCacheMaxBytesCountsKeyValueAndOverhead: MaxBytes bounds the cache's memory, so an entry
// whose value, key and per-entry bookkeeping together exceed it is not kept (each Get asks the
// backend), while one that fits is. A cost that subtracted the value, or the bookkeeping, would
// let a value as large as the whole budget in.
func TestCacheMaxBytesCountsKeyValueAndOverhead(t *testing.T) {
	const maxBytes = 4096
	key := "secret/a#k"
	for _, c := range []struct {
		name  string
		size  int
		kept  bool
		calls int64
	}{
		{"value of MaxBytes", maxBytes, false, 3},
		{"key and value fill MaxBytes, no room for the entry", maxBytes - len(key), false, 3},
		{"a small value", 100, true, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := &countingStore{vals: map[string]string{key: strings.Repeat("x", c.size)}}
			cache := newTestCache(t, b, keystore.CacheOptions{MaxBytes: maxBytes})
			ref := mustRef(t, key)
			for range 3 {
				s, err := cache.Get(context.Background(), ref)
				if err != nil || s.Value.Len() != c.size {
					t.Fatalf("Get: err %v", err)
				}
			}
			if n := b.calls.Load(); n != c.calls {
				t.Fatalf("%d-byte value, MaxBytes %d: %d backend calls for 3 Gets, want %d (kept: %v)", c.size, maxBytes, n, c.calls, c.kept)
			}
		})
	}
}
