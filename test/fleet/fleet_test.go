// Package fleet tests issue #8's fleet token sharing end to end: three real `keygate serve`
// processes share provider tokens through the real Vault dev server (KV v2 check-and-set and a
// lease), so a provider that revokes old tokens whenever it issues a new one sees one token
// call per refresh, however many replicas and requests need the token at once.
package fleet

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"

	"github.com/keygate/keygate/internal/redact"
	"github.com/keygate/keygate/internal/secret"
	"github.com/keygate/keygate/internal/testkit"
	"github.com/keygate/keygate/internal/vaulttest"
)

const (
	replicas = 3
	requests = 200
	host     = "partner.fleet.local"
	// tokenPath is where token.VaultStore keeps the provider's token (tenant "" is ".default").
	tokenPath = "keygate-tokens/.default/partner"
	// shortTTL (seconds) is the lifetime of the token phase 3 lets expire.
	shortTTL = 3
)

// configYAML is every replica's config, byte for byte: state.dir is relative to the config
// file's folder, so each replica keeps its own state dir while the config hash (and so the
// shared config version) is the same for all.
func configYAML(vaultAddr, tokenFile, upstreamURL, tokenURL string) string {
	return `listen: {ext_proc: '127.0.0.1:0', xds: '127.0.0.1:0', admin: '127.0.0.1:0'}
state: {dir: state, shared_in_vault: true}
keystore:
  type: vault
  vault:
    address: '` + vaultAddr + `'
    auth: {method: token, token_file: '` + tokenFile + `'}
providers:
  - name: partner
    hosts: [` + host + `]
    upstream: {url: '` + upstreamURL + `/api', timeout: 10s}
    secrets: {client_secret: secret/keygate/fleet#client_secret}
    token:
      type: oauth2_client_credentials
      url: '` + tokenURL + `'
      timeout: 3s
      params: {client_id: fleet-client, client_secret: client_secret}
    signing: [{scheme: token}]
`
}

// TestFleetSharesTokens: the shared store holds an expired token; 200 concurrent requests over
// 3 replicas cause exactly one token call, every caller gets 200, and the provider never sees a
// revoked token. Then the provider revokes that token under load: every rejected request is
// recovered by keygate's one retry, and the fleet again fetches exactly once. Last, the token
// cached by every replica expires: one fetch again, and no request with a revoked token.
func TestFleetSharesTokens(t *testing.T) {
	bin := testkit.BuildKeygate(t, raceBuild)
	began := time.Now()
	v := vaulttest.Start(t)
	root := v.Client()
	ctx := context.Background()

	clientSecret := "fleet-secret-" + randomHex(16)
	v.WriteKV(t, "keygate/fleet", map[string]string{"client_secret": clientSecret})
	// Only the documented policy (docs/vault.md): it must be enough for a fleet.
	created, err := root.Auth().Token().Create(&api.TokenCreateRequest{Policies: []string{"keygate"}, TTL: "1h"})
	if err != nil {
		t.Fatal(err)
	}
	tokenFile := vaulttest.WriteSecretFile(t, "vault-token", secret.FromString(created.Auth.ClientToken))

	is := newIssuer(t, "fleet-client", clientSecret)
	up := newUpstream(t, is)

	// An earlier fetch's token, expired, left in the shared store.
	seed, seedExpiry := is.mint(-time.Minute)
	secrets := func() []string { return append(is.issuedTokens(), seed, clientSecret, created.Auth.ClientToken) }
	if _, err := root.KVv2("secret").Put(ctx, tokenPath, map[string]any{
		"token": seed, "expiry": seedExpiry.UTC().Format(time.RFC3339Nano)}); err != nil {
		t.Fatal(err)
	}

	// Three replicas, same config file content, separate state dirs, started together: they all
	// find the shared version store empty and race to store version 1; the losers take the
	// winner's version.
	fleet := make([]*replica, replicas)
	for i := range fleet {
		dir := t.TempDir()
		cfg := filepath.Join(dir, "keygate.yaml")
		data := configYAML(v.Addr(), tokenFile, up.URL(), is.URL())
		if err := os.WriteFile(cfg, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
		fleet[i] = startReplica(t, bin, "replica-"+string(rune('a'+i)), cfg, secrets)
	}
	egress := make([]string, replicas)
	for i, r := range fleet {
		r.waitServing(t, 15*time.Second)
		egress[i] = startEgress(t, r)
	}
	if n := is.calls.Load(); n != 0 {
		t.Fatalf("the token endpoint was called %d times before any request", n)
	}

	// Phase 1: an expired token in the store, no token in any replica.
	phase{name: "expired token in the store"}.run(t, fleet, egress, is, up)

	// Phase 2: the provider revokes the shared token under load. Every replica's requests get
	// 401 until one replica fetches a new token and the others adopt it from the store; keygate
	// retries each rejected request once with the new token.
	is.revokeAll()
	phase{name: "token revoked by the provider", maxRejected: requests}.run(t, fleet, egress, is, up)

	// Phase 3: the token every replica caches expires. A short-lived token reaches all three
	// caches (one request each after a revocation), nothing is sent until it has expired, then
	// the burst: expired tokens are never sent, and the fleet fetches once.
	is.ttl.Store(shortTTL)
	is.revokeAll()
	client := &http.Client{Timeout: 10 * time.Second}
	for i, r := range fleet {
		if got, body := send(client, egress[i], host); got != "200" {
			t.Fatalf("%s: a request after the revocation got %s, want 200: %.200s", r.name, got, body)
		}
	}
	is.ttl.Store(600)
	time.Sleep(time.Until(is.currentExpiry()) + 500*time.Millisecond) // keygate's expiry is a few ms later than the issuer's
	phase{name: "token expired in every replica"}.run(t, fleet, egress, is, up)

	checkStoredToken(t, root, is)
	checkEvents(t, fleet)
	checkLogs(t, fleet, secrets())
	t.Logf("summary: %d replicas, 3 bursts of %d requests, token endpoint calls %d in all, upstream accepted %d rejected %d unsigned %d; %s after the build",
		replicas, requests, is.calls.Load(), up.accepted.Load(), up.rejected.Load(), up.unsigned.Load(), time.Since(began).Round(100*time.Millisecond))
}

// checkStoredToken: the shared store ends holding the provider's current token and no lease.
func checkStoredToken(t *testing.T, root *api.Client, is *issuer) {
	t.Helper()
	sec, err := root.KVv2("secret").Get(context.Background(), tokenPath)
	if err != nil {
		t.Fatalf("reading the shared token record: %v", err)
	}
	tok, _ := sec.Data["token"].(string)
	if !is.isCurrent(tok) {
		t.Error("the shared store does not hold the provider's current token")
	}
	if holder, _ := sec.Data["lease_holder"].(string); holder != "" {
		t.Errorf("the shared token record still names lease holder %q", holder)
	}
}

// checkLogs: no replica logged a token, the client secret or its Vault token, in any form the
// redaction set knows (the values are never printed here, only which kind leaked).
func checkLogs(t *testing.T, fleet []*replica, secrets []string) {
	t.Helper()
	for _, r := range fleet {
		out := r.Out.Bytes()
		for i, s := range secrets {
			var set redact.Set
			set.Add(secret.FromString(s))
			if found, form := set.Find(out); found {
				t.Errorf("%s's log holds secret #%d of %d (a token, the client secret or the Vault token; form %d)", r.name, i+1, len(secrets), form)
			}
		}
	}
}

func (is *issuer) currentExpiry() time.Time {
	is.mu.Lock()
	defer is.mu.Unlock()
	return is.expiry
}

func (is *issuer) issuedTokens() []string {
	is.mu.Lock()
	defer is.mu.Unlock()
	out := make([]string, 0, len(is.issued))
	for tok := range is.issued {
		out = append(out, tok)
	}
	return out
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
