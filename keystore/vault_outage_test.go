package keystore_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/internal/failure"
	"github.com/keygate/keygate/internal/vaulttest"
	"github.com/keygate/keygate/keystore"
	"github.com/keygate/keygate/keystore/fromconfig"
)

// TestVaultDownAtStart: Open succeeds (keygate starts), Ready and Get fail closed with a clear
// error, Close works.
func TestVaultDownAtStart(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := "http://" + l.Addr().String()
	l.Close() // nothing listens there now
	t.Setenv("KEYGATE_TEST_DOWN_TOKEN", "down-token-value")
	cfg := config.Keystore{Type: "vault", Vault: &config.Vault{
		Address: addr, Timeout: config.Duration(500 * time.Millisecond),
		Auth: config.VaultAuth{Method: "token", TokenEnv: "KEYGATE_TEST_DOWN_TOKEN"},
	}}
	st, err := fromconfig.Open(context.Background(), cfg, quietLog())
	if err != nil {
		t.Fatalf("Open must not fail when Vault is down: %v", err)
	}
	defer st.Close()
	ready := st.(keystore.Checker).Ready(context.Background())
	checkReadyFailure(t, ready, "down-token-value")
	_, err = st.Get(context.Background(), mustRef(t, "secret/keygate/demo#app_secret"))
	checkReadFailure(t, err, keystore.ErrUnavailable, "secret/keygate/demo#app_secret", "down-token-value")
	t.Logf("Ready: %v", ready)
	t.Logf("Get: %v", err)
}

// TestVaultStoppedMidRun: values serve from the cache inside stale_if_error, then fail closed
// with 503, and recover once a Vault is back with its fixtures.
func TestVaultStoppedMidRun(t *testing.T) {
	s := vaulttest.Start(t)
	s.WriteKV(t, "keygate/outage", map[string]string{"k": "outage-value"})
	v := openVault(t, s, nil, 300*time.Millisecond)
	c := newTestCache(t, v, keystore.CacheOptions{TTL: 100 * time.Millisecond, StaleIfError: 300 * time.Millisecond,
		RetryInterval: 50 * time.Millisecond})
	ctx := context.Background()
	ref := mustRef(t, "secret/keygate/outage#k")
	if _, err := c.Get(ctx, ref); err != nil {
		t.Fatalf("warm-up: %v", err)
	}

	s.Stop()
	var served, failed int
	var lastErr error
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline) && failed < 3; {
		got, err := c.Get(ctx, ref)
		if err == nil && string(got.Value.Reveal()) == "outage-value" {
			served++
		} else {
			failed++
			lastErr = err
		}
		time.Sleep(10 * time.Millisecond)
	}
	st := c.Stats()
	t.Logf("vault stopped: %d requests served from cache (%d stale), then %d failed; backend calls %d, errors %d",
		served, st.StaleServed, failed, st.BackendCalls, st.BackendErrors)
	t.Logf("fail-closed error: %v", lastErr)
	if served == 0 || st.StaleServed == 0 || failed == 0 {
		t.Fatalf("want cached serving inside the window, then failures")
	}
	if !errors.Is(lastErr, keystore.ErrUnavailable) || failure.Status(lastErr) != 503 ||
		!strings.Contains(lastErr.Error(), "beyond stale_if_error 300ms") || strings.Contains(lastErr.Error(), "outage-value") {
		t.Fatalf("fail-closed error is not a clear 503: %v", lastErr)
	}

	s.StartAgain(t) // empty dev server, same address and root token: rewrite the fixture
	s.WriteKV(t, "keygate/outage", map[string]string{"k": "outage-value"})
	var recovered bool
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline) && !recovered; time.Sleep(20 * time.Millisecond) {
		_, err := c.Get(ctx, ref)
		recovered = err == nil
	}
	t.Logf("after restart: recovered=%v, stats %+v", recovered, c.Stats())
	if !recovered {
		t.Fatal("no recovery after Vault came back")
	}
}

// TestVaultSlow: a hung Vault (SIGSTOP) makes a call fail within the client timeout, and a
// cached value is served stale meanwhile.
func TestVaultSlow(t *testing.T) {
	s := vaulttest.Start(t)
	s.WriteKV(t, "keygate/slow", map[string]string{"k": "slow-value"})
	const timeout = 300 * time.Millisecond
	v := openVault(t, s, nil, timeout)
	c := newTestCache(t, v, keystore.CacheOptions{TTL: 50 * time.Millisecond, StaleIfError: time.Minute})
	ctx := context.Background()
	ref := mustRef(t, "secret/keygate/slow#k")
	if _, err := c.Get(ctx, ref); err != nil {
		t.Fatalf("warm-up: %v", err)
	}
	s.Pause(t)
	defer s.Resume(t)

	start := time.Now()
	_, err := v.Get(ctx, ref)
	took := time.Since(start)
	t.Logf("uncached read from a hung vault failed after %s (timeout %s): %v", took.Round(time.Millisecond), timeout, err)
	checkReadFailure(t, err, keystore.ErrUnavailable, ref.String(), "slow-value")
	if took > timeout+2*time.Second { // a correctness bound (timeout honoured), generous for loaded CI
		t.Fatalf("the client timeout was not honoured: %s", took)
	}

	time.Sleep(60 * time.Millisecond) // past the TTL: the cache must try Vault, then serve stale
	got, err := c.Get(ctx, ref)
	if err != nil || string(got.Value.Reveal()) != "slow-value" {
		t.Fatalf("stale value not served while vault hangs: %v", err)
	}
	t.Logf("cached read while vault hangs: served stale; stats %+v", c.Stats())
}
