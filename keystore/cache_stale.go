package keystore

import (
	"fmt"
	"sync"
	"time"

	"github.com/keygate/keygate/internal/failure"
)

// staleStore keeps the last good value of each reference with its fetch time, apart from the
// ristretto cache (which may evict, and drops entries at their TTL), so a value can keep
// serving for stale_if_error past its TTL while the backend is unavailable. It holds one entry
// per reference ever read, which the configuration bounds; expired entries are pruned as it grows.
type staleStore struct {
	mu      sync.Mutex
	m       map[string]staleEntry          // cache key -> last good value
	paths   map[string]map[string]struct{} // "mount/path" -> cache keys, for invalidation on Put
	pruneAt int
}

type staleEntry struct {
	s       Secret
	fetched time.Time
	pinned  bool      // an immutable version: serves for as long as the backend is down
	nextTry time.Time // while serving stale: no backend call before this
}

// staleFor is how long past its TTL the entry is at now (0 if still fresh).
func (e staleEntry) staleFor(now time.Time, o CacheOptions) time.Duration {
	if e.pinned {
		return 0
	}
	return max(now.Sub(e.fetched.Add(o.TTL)), 0)
}

func (e staleEntry) usable(now time.Time, o CacheOptions) bool {
	return e.pinned || e.staleFor(now, o) <= o.StaleIfError
}

func (st *staleStore) put(ref Ref, key string, s Secret, now time.Time, o CacheOptions) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.indexLocked(ref, key)
	st.m[key] = staleEntry{s: s, fetched: now, pinned: ref.Version > 0}
	if len(st.m) > st.pruneAt {
		for k, e := range st.m {
			if !e.usable(now, o) {
				delete(st.m, k)
			}
		}
		st.pruneAt = 2*len(st.m) + 64
	}
}

func (st *staleStore) drop(ref Ref, key string) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.indexLocked(ref, key)
	delete(st.m, key)
}

func (st *staleStore) indexLocked(ref Ref, key string) {
	if st.paths == nil {
		st.paths = map[string]map[string]struct{}{}
	}
	p := ref.Mount + "/" + ref.Path
	if st.paths[p] == nil {
		st.paths[p] = map[string]struct{}{}
	}
	st.paths[p][key] = struct{}{}
}

// forget drops every entry of mount/path and returns their cache keys.
func (st *staleStore) forget(path string) []string {
	st.mu.Lock()
	defer st.mu.Unlock()
	var keys []string
	for k := range st.paths[path] {
		keys = append(keys, k)
		delete(st.m, k)
	}
	delete(st.paths, path)
	return keys
}

// serveWithoutRetry serves a stale value inside the window when a backend call failed less
// than RetryInterval ago.
func (st *staleStore) serveWithoutRetry(key string, now time.Time, o CacheOptions) (Secret, time.Duration, bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	e, ok := st.m[key]
	if !ok || e.nextTry.IsZero() || now.After(e.nextTry) || !e.usable(now, o) {
		return Secret{}, 0, false
	}
	return e.s, e.staleFor(now, o), true
}

// serveAfterError serves a stale value inside the window after a failed backend call, and
// holds further calls for RetryInterval.
func (st *staleStore) serveAfterError(key string, now time.Time, o CacheOptions) (Secret, time.Duration, bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	e, ok := st.m[key]
	if !ok || !e.usable(now, o) {
		return Secret{}, 0, false
	}
	e.nextTry = now.Add(o.RetryInterval)
	st.m[key] = e
	return e.s, e.staleFor(now, o), true
}

// failClosed builds the 503 for an unavailable backend with nothing left to serve.
func (st *staleStore) failClosed(ref Ref, key string, now time.Time, o CacheOptions, cause error) error {
	st.mu.Lock()
	e, ok := st.m[key]
	st.mu.Unlock()
	var detail string
	switch {
	case !ok:
		detail = "no cached value to serve"
	case o.StaleIfError == 0:
		detail = "stale_if_error is off"
	default:
		detail = fmt.Sprintf("vault unreachable for %s, beyond stale_if_error %s",
			e.staleFor(now, o).Round(time.Millisecond), o.StaleIfError)
	}
	return &failure.Error{Kind: failure.Unavailable, Stage: stage, Msg: detail, Err: cause}
}
