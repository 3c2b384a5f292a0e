package faults

import (
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/keygate/keygate/internal/vaulttest"
)

// vaultUp makes sure the run's Vault dev server runs and holds the fault secrets, and returns
// the keystore section of a config that reads them: a 250ms Vault timeout, a 1s cache TTL so the
// faults see expiry, and stale-if-error 10m. The timeout is sized so that a request reading all
// three of the static provider's secrets from a hung Vault (3 x 250ms, in sequence) still ends
// within the egress's message timeout (1.3s here): with 500ms, 6 of 10 such requests got the
// egress's own 504 instead of the stale values (see docs/operations.md, sizing).
func (e *env) vaultUp(t *testing.T) (*vaulttest.Server, string) {
	if e.vault == nil {
		e.vault = vaulttest.Start(e.top)
	} else if !e.vaultRunning {
		e.vault.StartAgain(t)
	}
	e.vaultRunning = true
	e.writeVaultSecrets(t)
	return e.vault, e.vaultKeystore(t)
}

func (e *env) writeVaultSecrets(t *testing.T) {
	e.vault.WriteKV(t, "faults/static", map[string]string{"api_key": e.s.APIKey, "aes_key": e.s.AESKey, "aes_iv": e.s.AESIV})
	e.vault.WriteKV(t, "faults/oauth", map[string]string{"client_secret": e.s.ClientSecret})
}

func (e *env) vaultDown() {
	if e.vault != nil {
		e.vault.Stop()
	}
	e.vaultRunning = false
}

func (e *env) vaultKeystore(t *testing.T) string {
	tokenFile := vaulttest.WriteSecretFile(t, "vault-token", e.vault.RootToken())
	return "keystore:\n  type: vault\n  vault:\n    address: " + e.vault.Addr() +
		"\n    timeout: 250ms\n    auth: {method: token, token_file: " + tokenFile + "}" +
		"\n    cache: {ttl: 1s, stale_if_error: 10m}"
}

// cacheTTL is the fault configs' keystore cache TTL: waiting this long makes every cached value
// expire, so the next read goes to Vault.
const cacheTTL = 1100 * time.Millisecond

// vaultSlow: Vault hangs (SIGSTOP). Secrets read before keep serving from the cache after the
// Vault call times out (stale-if-error); a secret never read fails closed.
func vaultSlow(t *testing.T, e *env, r *record) {
	v, ks := e.vaultUp(t)
	is := newIssuer(t, e.s.ClientSecret)
	up := r.watch(verifyingUpstream(t, e.s, is, 0))
	w := startWorld(t, e, writeConfig(t, e.s, setup{upstream: up, issuer: is, keystore: ks}))
	r.caller = newCaller(w.egress)
	warm(t, r.caller, 5)
	v.Pause(t)
	defer v.Resume(t)
	time.Sleep(cacheTTL)
	start := time.Now()
	staticStatuses(t, r.caller, 10, http.StatusOK)
	r.note("10 requests with Vault hung took %s (one Vault timeout per secret per retry interval)", time.Since(start).Round(10*time.Millisecond))
	for range 3 {
		if got := r.caller.send("oauth.faults.local", `{}`); got != http.StatusServiceUnavailable && got != http.StatusGatewayTimeout {
			t.Errorf("a secret never cached, Vault hung: status %d, want 503 or 504", got)
		}
	}
	wantOnly(t, r.caller, http.StatusOK, http.StatusServiceUnavailable, http.StatusGatewayTimeout)
	wantReached(t, up, 15)
}

// vaultStoppedMidRun: Vault goes away while keygate runs. Cached secrets serve stale; others
// fail closed with 503 (stage keystore).
func vaultStoppedMidRun(t *testing.T, e *env, r *record) {
	_, ks := e.vaultUp(t)
	is := newIssuer(t, e.s.ClientSecret)
	up := r.watch(verifyingUpstream(t, e.s, is, 0))
	w := startWorld(t, e, writeConfig(t, e.s, setup{upstream: up, issuer: is, keystore: ks}))
	r.caller = newCaller(w.egress)
	warm(t, r.caller, 5)
	e.vaultDown()
	time.Sleep(cacheTTL)
	staticStatuses(t, r.caller, 10, http.StatusOK)
	for range 3 {
		if got := r.caller.send("oauth.faults.local", `{}`); got != http.StatusServiceUnavailable {
			t.Errorf("a secret never cached, Vault stopped: status %d, want 503", got)
		}
	}
	wantOnly(t, r.caller, http.StatusOK, http.StatusServiceUnavailable)
	wantReached(t, up, 15)
}

// vaultDownAtStart: keygate starts while Vault is down (it starts: Vault is retried in the
// background). Requests fail closed with 503 until Vault is back, then succeed.
func vaultDownAtStart(t *testing.T, e *env, r *record) {
	_, ks := e.vaultUp(t)
	e.vaultDown()
	up := r.watch(verifyingUpstream(t, e.s, nil, 0))
	w := startWorld(t, e, writeConfig(t, e.s, setup{upstream: up, keystore: ks}))
	r.caller = newCaller(w.egress)
	staticStatuses(t, r.caller, 10, http.StatusServiceUnavailable)
	wantStage(t, r.caller, "keystore")
	e.vaultUp(t)
	back := time.Now()
	if !r.caller.until200("static.faults.local", orderBody(e.s), 120) { // at most 30s
		t.Fatalf("keygate did not recover within 30s of Vault coming back")
	}
	r.note("first 200 came %s after Vault was back (keystore login retry backoff)", time.Since(back).Round(100*time.Millisecond))
	staticStatuses(t, r.caller, 5, http.StatusOK)
	wantOnly(t, r.caller, http.StatusOK, http.StatusServiceUnavailable)
}

// warm sends n requests that must succeed, so the secrets they read are cached.
func warm(t *testing.T, c *caller, n int) {
	t.Helper()
	for range n {
		if got := c.send("static.faults.local", `{"data":"warm","amount":1}`); got != http.StatusOK {
			t.Fatalf("warm-up request: status %d, want 200", got)
		}
	}
}

// staticStatuses sends n requests to the static provider, 2 at a time; each must get want.
func staticStatuses(t *testing.T, c *caller, n, want int) {
	t.Helper()
	got := make(chan int, n)
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			for range n / 2 {
				got <- c.send("static.faults.local", `{"data":"x","amount":1}`)
			}
		})
	}
	wg.Wait()
	close(got)
	for s := range got {
		if s != want {
			t.Errorf("static provider: status %d, want %d", s, want)
			return
		}
	}
}
