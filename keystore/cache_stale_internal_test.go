package keystore

import (
	"fmt"
	"testing"
	"time"

	"github.com/keygate/keygate/internal/secret"
)

// The stale window's edges and the stale store's bound, at exact instants: the store takes the
// time as an argument, so these need no sleeping (issue 26's mutation run).

// TestStaleWindowIncludesItsLastInstant: a value fetched at t0 serves after an error up to and
// including t0 + TTL + stale_if_error, and not a nanosecond later.
func TestStaleWindowIncludesItsLastInstant(t *testing.T) {
	o := CacheOptions{TTL: time.Minute, StaleIfError: 2 * time.Minute}.withDefaults()
	ref, err := ParseRef("secret/a#k")
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	end := t0.Add(3 * time.Minute)
	for _, c := range []struct {
		at   time.Time
		want bool
	}{{t0.Add(time.Minute), true}, {end.Add(-time.Nanosecond), true}, {end, true}, {end.Add(time.Nanosecond), false}} {
		st := staleStore{m: map[string]staleEntry{}}
		st.put(ref, ref.String(), Secret{Value: secret.FromString("v")}, t0, o)
		_, staleFor, ok := st.serveAfterError(ref.String(), c.at, o)
		if ok != c.want {
			t.Errorf("%v after the fetch (TTL 1m, stale_if_error 2m): served %v, want %v", c.at.Sub(t0), ok, c.want)
		}
		if ok && staleFor != max(c.at.Sub(t0)-time.Minute, 0) {
			t.Errorf("%v after the fetch: reported stale for %v", c.at.Sub(t0), staleFor)
		}
	}
}

// TestStaleStoreDropsExpiredEntriesAsItGrows: entries past their window are pruned as new ones
// arrive, so a long-running gateway reading ever new references (a rotated path, a removed
// provider) does not keep every value it ever read; the values still in their window stay.
func TestStaleStoreDropsExpiredEntriesAsItGrows(t *testing.T) {
	o := CacheOptions{TTL: time.Minute, StaleIfError: time.Minute}.withDefaults()
	st := staleStore{m: map[string]staleEntry{}}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	const n = 1000
	for i := range n {
		ref, err := ParseRef(fmt.Sprintf("secret/p%d#k", i))
		if err != nil {
			t.Fatal(err)
		}
		// One reference an hour: each is long expired when the next arrives.
		st.put(ref, ref.String(), Secret{Value: secret.FromString("v")}, t0.Add(time.Duration(i)*time.Hour), o)
	}
	if len(st.m) > 200 {
		t.Fatalf("the stale store holds %d entries after %d reads, all but the last expired: expired entries are never pruned", len(st.m), n)
	}
	last := fmt.Sprintf("secret/p%d#k", n-1)
	if _, _, ok := st.serveAfterError(last, t0.Add(time.Duration(n-1)*time.Hour), o); !ok {
		t.Fatal("pruning dropped the entry still inside its window")
	}
}
