package keystore_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"

	"github.com/keygate/keygate/internal/testkit"
	"github.com/keygate/keygate/internal/vaulttest"
	"github.com/keygate/keygate/keystore"
)

// logCapture records a Vault backend's log (debug included) as JSON lines.
type logCapture struct{ buf testkit.SyncBuffer }

func (l *logCapture) logger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(&l.buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// entries returns the records whose message is msg.
func (l *logCapture) entries(msg string) []map[string]any {
	var out []map[string]any
	for _, line := range strings.Split(l.buf.String(), "\n") {
		var e map[string]any
		if json.Unmarshal([]byte(line), &e) == nil && e["msg"] == msg {
			out = append(out, e)
		}
	}
	return out
}

// waitFor waits (up to a minute: a loaded machine) until a record with msg is logged.
func (l *logCapture) waitFor(t *testing.T, msg string) map[string]any {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if e := l.entries(msg); len(e) > 0 {
			return e[0]
		}
	}
	t.Fatalf("no %q logged within a minute; log:\n%s", msg, l.buf.String())
	return nil
}

// duration reads a slog JSON duration (nanoseconds).
func duration(e map[string]any, key string) time.Duration {
	n, _ := e[key].(float64)
	return time.Duration(n)
}

// tokenWith creates a token on s (policy default) and writes it to a file for NewTokenAuth.
func tokenWith(t *testing.T, s *vaulttest.Server, req *api.TokenCreateRequest) string {
	t.Helper()
	req.Policies = []string{"default"}
	sec, err := s.Client().Auth().Token().Create(req)
	if err != nil {
		t.Fatal(err)
	}
	return vaulttest.WriteSecretFile(t, "token", secretOf(sec.Auth.ClientToken))
}

func newVaultLogged(t *testing.T, opts keystore.VaultOptions, log *logCapture) *keystore.Vault {
	t.Helper()
	v, err := keystore.NewVault(opts, log.logger())
	if err != nil {
		t.Fatalf("NewVault: %v", err)
	}
	t.Cleanup(func() { _ = v.Close() })
	return v
}

// TestRenewableTokenIsRenewedNotReplaced: a renewable token is renewed (vault/api's watcher
// renews at once, then before each expiry) and keygate logs in once; the login and each
// renewal log the token's TTL in seconds, never the token.
func TestRenewableTokenIsRenewedNotReplaced(t *testing.T) {
	srv := vaulttest.Shared(t)
	file := tokenWith(t, srv, &api.TokenCreateRequest{TTL: "60s"})
	var log logCapture
	newVaultLogged(t, keystore.VaultOptions{Address: srv.Addr(), Auth: keystore.NewTokenAuth("", file)}, &log)

	renewed := log.waitFor(t, "vault token renewed")
	if ttl := duration(renewed, "ttl"); ttl < 30*time.Second || ttl > time.Minute {
		t.Errorf("renewal logged ttl %v, want the token's 60s", ttl)
	}
	logins := log.entries("vault login ok")
	if len(logins) != 1 {
		t.Fatalf("%d logins for a renewable token, want 1:\n%s", len(logins), log.buf.String())
	}
	if ttl := duration(logins[0], "ttl"); ttl < 30*time.Second || ttl > time.Minute {
		t.Errorf("login logged ttl %v, want the token's 60s", ttl)
	}
	if renewable, _ := logins[0]["renewable"].(bool); !renewable {
		t.Errorf("login logged renewable=%v", logins[0]["renewable"])
	}
	if tok, _ := os.ReadFile(file); len(tok) == 0 || strings.Contains(log.buf.String(), string(tok)) {
		t.Error("the log shows the token")
	}
}

// TestTokenAtItsMaxTTLIsReplaced: a token that cannot be renewed past its max TTL ends with
// "reached its max TTL" (not "can no longer be renewed", which is for a renewal error), and
// keygate logs in again.
func TestTokenAtItsMaxTTLIsReplaced(t *testing.T) {
	srv := vaulttest.Shared(t)
	file := tokenWith(t, srv, &api.TokenCreateRequest{TTL: "3s", ExplicitMaxTTL: "3s"})
	var log logCapture
	newVaultLogged(t, keystore.VaultOptions{Address: srv.Addr(), Auth: keystore.NewTokenAuth("", file), LoginRetry: time.Hour}, &log)

	log.waitFor(t, "vault token reached its max TTL; logging in again")
	if e := log.entries("vault token can no longer be renewed; logging in again"); len(e) > 0 {
		t.Errorf("a token at its max TTL logged as a renewal failure: %v", e)
	}
}

// TestTokenThatNeverExpiresIsNotWatched: a token without TTL that is not renewable (a root
// token) is kept until Close: keygate logs in once and never again.
func TestTokenThatNeverExpiresIsNotWatched(t *testing.T) {
	srv := vaulttest.Shared(t)
	var log logCapture
	v := newVaultLogged(t, keystore.VaultOptions{Address: srv.Addr(),
		Auth: keystore.NewTokenAuth("", vaulttest.WriteSecretFile(t, "token", srv.RootToken()))}, &log)
	if err := v.Ready(context.Background()); err != nil {
		t.Fatal(err)
	}
	// A login loop (the token handed to a renewal watcher, which gives up on it at once) shows
	// within milliseconds; a second is ample, and the real code passes whatever the load.
	for deadline := time.Now().Add(time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if n := len(log.entries("vault login ok")); n != 1 {
			t.Fatalf("%d logins with a token that never expires, want 1:\n%s", n, log.buf.String())
		}
	}
}

// authFunc is a VaultAuth made of a function.
type authFunc func(ctx context.Context, c *api.Client) (*api.Secret, error)

func (f authFunc) Login(ctx context.Context, c *api.Client) (*api.Secret, error) { return f(ctx, c) }

// TestLoginAnswerWithoutATokenIsNotALogin: an auth method that answers without a token (no
// secret, no auth part, an empty token) leaves keygate not ready, failing closed; a login error
// is reported as itself, not as a missing token.
func TestLoginAnswerWithoutATokenIsNotALogin(t *testing.T) {
	srv := vaulttest.Shared(t)
	for _, tt := range []struct {
		name   string
		secret *api.Secret
		err    error
		want   string
	}{
		{"no secret", nil, nil, "login answered without a token"},
		{"no auth", &api.Secret{}, nil, "login answered without a token"},
		{"empty token", &api.Secret{Auth: &api.SecretAuth{LeaseDuration: 60}}, nil, "login answered without a token"},
		{"an error", nil, errors.New("role keygate is not allowed here"), "role keygate is not allowed here"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			auth := authFunc(func(context.Context, *api.Client) (*api.Secret, error) { return tt.secret, tt.err })
			var log logCapture
			v := newVaultLogged(t, keystore.VaultOptions{Address: srv.Addr(), Auth: auth, LoginRetry: time.Hour}, &log)
			err := v.Ready(context.Background())
			checkReadyFailure(t, err, "")
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Ready: %v, want %q", err, tt.want)
			}
			if tt.err != nil && strings.Contains(err.Error(), "without a token") {
				t.Errorf("Ready: %v: the login error was replaced", err)
			}
		})
	}
}

// TestVaultNamespaceIsSentOnEveryRequest: with a namespace (Vault Enterprise), the login and
// every later request carry X-Vault-Namespace; without one, none does. The open-source dev
// server has no namespaces, so a recording HTTP server stands in for Vault here.
//
// vault/api also reads VAULT_NAMESPACE, VAULT_AGENT_ADDR (which replaces the address) and
// VAULT_SRV_LOOKUP from the environment: the config decides, so they change nothing here.
func TestVaultNamespaceIsSentOnEveryRequest(t *testing.T) {
	t.Setenv("VAULT_NAMESPACE", "from-the-environment")
	t.Setenv("VAULT_AGENT_ADDR", "http://127.0.0.1:1")
	t.Setenv("VAULT_SRV_LOOKUP", "true")
	for _, ns := range []string{"team-a", ""} {
		var mu sync.Mutex
		seen := map[string]string{} // path -> namespace header
		fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			seen[r.URL.Path] = r.Header.Get("X-Vault-Namespace")
			mu.Unlock()
			w.Header().Set("Content-Type", "application/json")
			switch r.URL.Path {
			case "/v1/auth/token/lookup-self":
				_, _ = w.Write([]byte(`{"data":{"ttl":0,"renewable":false,"policies":["default"]}}`))
			case "/v1/sys/health":
				_, _ = w.Write([]byte(`{"initialized":true,"sealed":false,"standby":false}`))
			default:
				http.NotFound(w, r)
			}
		}))
		t.Cleanup(fake.Close)
		var log logCapture
		v := newVaultLogged(t, keystore.VaultOptions{Address: fake.URL, Namespace: ns,
			Auth: keystore.NewTokenAuth("", vaulttest.WriteSecretFile(t, "token", secretOf("s.fake")))}, &log)
		if err := v.Ready(context.Background()); err != nil {
			t.Fatalf("namespace %q: Ready: %v", ns, err)
		}
		mu.Lock()
		for _, p := range []string{"/v1/auth/token/lookup-self", "/v1/sys/health"} {
			got, ok := seen[p]
			if !ok {
				t.Errorf("namespace %q: no request to %s", ns, p)
			} else if got != ns {
				t.Errorf("namespace %q: %s sent X-Vault-Namespace %q", ns, p, got)
			}
		}
		mu.Unlock()
	}
}

// TestVaultTLSSettings: against a TLS Vault (`vault server -dev -dev-tls`), keystore.vault.tls
// decides whom keygate trusts: its ca_file, and server_name as the name the certificate must
// carry (also with the CA from VAULT_CACERT, which vault/api reads). Anything else fails closed,
// VAULT_SKIP_VERIFY in keygate's environment included.
func TestVaultTLSSettings(t *testing.T) {
	srv := vaulttest.StartTLS(t)
	token := vaulttest.WriteSecretFile(t, "token", srv.RootToken())
	for _, tt := range []struct {
		name, caFile, serverName, envCA string
		skipVerify                      string // VAULT_SKIP_VERIFY
		ok                              bool
	}{
		{"ca_file", srv.CACertFile(), "", "", "", true},
		{"no ca_file", "", "", "", "", false},
		{"ca_file, server_name on the certificate", srv.CACertFile(), "localhost", "", "", true},
		{"ca_file, server_name not on the certificate", srv.CACertFile(), "not-vault.example", "", "", false},
		{"VAULT_CACERT, server_name on the certificate", "", "localhost", srv.CACertFile(), "", true},
		{"VAULT_CACERT, server_name not on the certificate", "", "not-vault.example", srv.CACertFile(), "", false},
		// vault/api turns verification off for VAULT_SKIP_VERIFY; keygate never does.
		{"VAULT_SKIP_VERIFY, no ca_file", "", "", "", "true", false},
		{"VAULT_SKIP_VERIFY, server_name not on the certificate", srv.CACertFile(), "not-vault.example", "", "true", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("VAULT_CACERT", tt.envCA)
			t.Setenv("VAULT_SKIP_VERIFY", tt.skipVerify)
			var log logCapture
			v := newVaultLogged(t, keystore.VaultOptions{Address: srv.Addr(), CAFile: tt.caFile, TLSServerName: tt.serverName,
				Auth: keystore.NewTokenAuth("", token), LoginRetry: time.Hour}, &log)
			err := v.Ready(context.Background())
			if tt.ok && err != nil {
				t.Fatalf("Ready: %v", err)
			}
			if !tt.ok {
				checkReadyFailure(t, err, "")
				if !strings.Contains(err.Error(), "certificate") {
					t.Errorf("Ready: %v, want a certificate error", err)
				}
				if n := len(log.entries("vault login ok")); n > 0 {
					t.Errorf("logged in over an unverified connection")
				}
			}
		})
	}
}
