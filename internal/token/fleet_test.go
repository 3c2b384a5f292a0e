package token

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"

	"github.com/keygate/keygate/internal/secret"
	"github.com/keygate/keygate/internal/vaulttest"
)

func TestMain(m *testing.M) { os.Exit(vaulttest.Main(m)) }

// vaultStores returns n stores, each over its own client (as n replicas would have), sharing a
// fresh path prefix on the shared dev server.
func vaultStores(t *testing.T, n int) []Store {
	v := vaulttest.Shared(t)
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	prefix := "keygate-tokens-" + hex.EncodeToString(b)
	var stores []Store
	for range n {
		c, err := api.NewClient(&api.Config{Address: v.Addr()})
		if err != nil {
			t.Fatal(err)
		}
		c.SetToken(string(v.RootToken().Reveal()))
		s, err := NewVaultStore(VaultStoreOptions{Client: c, Prefix: prefix})
		if err != nil {
			t.Fatal(err)
		}
		stores = append(stores, s)
	}
	return stores
}

func memoryStores(_ *testing.T, n int) []Store {
	s := NewMemoryStore(nil)
	stores := make([]Store, n)
	for i := range stores {
		stores[i] = s
	}
	return stores
}

func TestFleetFetchesOnce(t *testing.T) {
	for name, mk := range map[string]func(*testing.T, int) []Store{"memory": memoryStores, "vault": vaultStores} {
		t.Run(name, func(t *testing.T) {
			srv := newTokenServer(t)
			stores := mk(t, 3)
			key := Key{Tenant: "acme", Provider: "pay"}
			// An expired token left by an earlier fetch.
			if err := stores[0].Save(context.Background(), key, Token{Value: secret.FromString(tokenMarker + "-old"), Expiry: time.Now().Add(-time.Minute)}); err != nil {
				t.Fatal(err)
			}
			var replicas []*ProviderSource
			for i, st := range stores {
				m := NewManager(Options{Store: st, Holder: fmt.Sprintf("replica-%d", i), LeasePoll: 10 * time.Millisecond})
				replicas = append(replicas, m.source("acme", "pay", oauth2For(t, srv, time.Now), Policy{}))
			}
			srv.set("ok", 100*time.Millisecond)
			got := fleetBurst(t, replicas, 200)
			if n := srv.calls.Load(); n != 1 {
				t.Errorf("3 replicas, 200 callers: token endpoint called %d times, want 1", n)
			}
			if got[issued(1)] != 200 {
				t.Errorf("callers got %d distinct tokens, want the one fetched", len(got))
			}

			// Every replica sees 401s for token 1: the fleet refetches once.
			var wg sync.WaitGroup
			for _, r := range replicas {
				wg.Add(1)
				go func() { defer wg.Done(); r.InvalidateToken(context.Background(), secret.FromString(issued(1))) }()
			}
			wg.Wait()
			got = fleetBurst(t, replicas, 200)
			if n := srv.calls.Load(); n != 2 {
				t.Errorf("after a fleet-wide 401 the endpoint was called %d times in all, want 2", n)
			}
			if got[issued(2)] != 200 {
				t.Errorf("callers got %d distinct tokens after the refetch, want 1", len(got))
			}
		})
	}
}

func fleetBurst(t *testing.T, replicas []*ProviderSource, n int) map[string]int {
	t.Helper()
	var mu sync.Mutex
	got := map[string]int{}
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v, err := replicas[i%len(replicas)].Token(context.Background())
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			got[reveal(v)]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	return got
}

func TestStores(t *testing.T) {
	for name, mk := range map[string]func(*testing.T, int) []Store{"memory": memoryStores, "vault": vaultStores} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			st := mk(t, 1)[0]
			c := st.(Coordinator)
			key := Key{Provider: "pay"} // no tenant
			if _, ok, err := st.Load(ctx, key); ok || err != nil {
				t.Fatalf("empty store: ok %v err %v", ok, err)
			}
			// Ten replicas race for the lease: exactly one wins.
			var mu sync.Mutex
			winners := 0
			var wg sync.WaitGroup
			for i := range 10 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					won, err := c.TryLease(ctx, key, fmt.Sprintf("r%d", i), time.Minute)
					if err != nil {
						t.Error(err)
					}
					if won {
						mu.Lock()
						winners++
						mu.Unlock()
					}
				}()
			}
			wg.Wait()
			if winners != 1 {
				t.Fatalf("%d replicas won the lease, want 1", winners)
			}
			exp := time.Now().Add(time.Hour).Truncate(time.Millisecond)
			if err := st.Save(ctx, key, Token{Value: secret.FromString(tokenMarker), Expiry: exp}); err != nil {
				t.Fatal(err)
			}
			if won, err := c.TryLease(ctx, key, "other", time.Minute); !won || err != nil {
				t.Errorf("saving did not end the lease (won %v, err %v)", won, err)
			}
			if won, _ := c.TryLease(ctx, key, "third", time.Minute); won {
				t.Error("a running lease was taken")
			}
			if err := c.Release(ctx, key, "other"); err != nil {
				t.Fatal(err)
			}
			if won, _ := c.TryLease(ctx, key, "third", time.Minute); !won {
				t.Error("a released lease could not be taken")
			}
			tok, ok, err := st.Load(ctx, key)
			if err != nil || !ok || reveal(tok.Value) != tokenMarker || !tok.Expiry.Equal(exp) {
				t.Fatalf("round trip lost the token (ok %v, err %v, expiry %s)", ok, err, tok.Expiry)
			}
			if err := st.Delete(ctx, key); err != nil {
				t.Fatal(err)
			}
			if _, ok, _ := st.Load(ctx, key); ok {
				t.Error("Delete left the token")
			}
		})
	}
}
