package keystore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	vault "github.com/hashicorp/vault/api"
)

// VaultOptions configures the Vault backend. Zero fields take the defaults of withDefaults.
type VaultOptions struct {
	Address       string        // e.g. https://vault.internal:8200 (required)
	Namespace     string        // Vault Enterprise namespace, optional
	Timeout       time.Duration // per Vault call; default 2s
	CAFile        string        // PEM CA bundle for Vault's TLS certificate, optional
	TLSServerName string        // TLS server name to verify, optional
	Auth          VaultAuth     // how keygate logs in; required
	// LoginRetry is the pause between failed logins (Vault down at start, or re-login after the
	// token expired); default 2s, doubling up to 30s.
	LoginRetry time.Duration
}

// DefaultVaultTimeout bounds each Vault call when keystore.vault.timeout is unset. xds sizes
// Envoy's ext_proc message timeout from it.
const DefaultVaultTimeout = 2 * time.Second

func (o VaultOptions) withDefaults() VaultOptions {
	if o.Timeout <= 0 {
		o.Timeout = DefaultVaultTimeout
	}
	if o.LoginRetry <= 0 {
		o.LoginRetry = 2 * time.Second
	}
	return o
}

// Vault is the production keystore: KV v2 reads and writes, Transit HMAC and signing, and a
// readiness check, over one authenticated vault/api client. It does not cache; wrap it in a
// Cache. Construction never fails because Vault is down: the login is retried in the background
// and Ready reports the error meanwhile.
type Vault struct {
	client  *vault.Client
	opts    VaultOptions
	log     *slog.Logger
	stop    chan struct{}
	done    chan struct{}
	once    sync.Once
	mu      sync.Mutex
	authErr error // last login error, nil once logged in
}

var (
	_ Store         = (*Vault)(nil)
	_ TransitSigner = (*Vault)(nil)
	_ Writer        = (*Vault)(nil)
	_ Checker       = (*Vault)(nil)
)

// NewVault builds the client, tries one login (bounded by the timeout) and starts the
// login/renewal goroutine. It fails only on bad options (no address, no auth, unreadable CA).
func NewVault(opts VaultOptions, log *slog.Logger) (*Vault, error) {
	opts = opts.withDefaults()
	if opts.Address == "" {
		return nil, errors.New("vault keystore: address is required")
	}
	if opts.Auth == nil {
		return nil, errors.New("vault keystore: an auth method is required")
	}
	cfg := vault.DefaultConfig()
	cfg.Address = opts.Address
	// vault/api reads its environment; none of it may send keygate elsewhere: VAULT_AGENT_ADDR
	// would replace the configured address, VAULT_SRV_LOOKUP look up another one.
	cfg.AgentAddress, cfg.SRVLookup = "", false
	cfg.Timeout = opts.Timeout
	cfg.MaxRetries = 0 // the cache serves stale values; retries would only hold requests longer
	if opts.CAFile != "" || opts.TLSServerName != "" {
		if err := cfg.ConfigureTLS(&vault.TLSConfig{CACert: opts.CAFile, TLSServerName: opts.TLSServerName}); err != nil {
			return nil, fmt.Errorf("vault keystore: TLS: %w", err)
		}
	}
	if cfg.Error != nil {
		return nil, fmt.Errorf("vault keystore: %w", cfg.Error)
	}
	// vault/api turns certificate verification off when VAULT_SKIP_VERIFY is set in the
	// environment; keygate never sends a credential to a Vault it has not verified.
	// (DefaultConfig's transport always has a TLS config; ConfigureTLS relies on it too.)
	if t, ok := cfg.HttpClient.Transport.(*http.Transport); ok {
		t.TLSClientConfig.InsecureSkipVerify = false
	}
	client, err := vault.NewClient(cfg)
	if err != nil {
		return nil, fmt.Errorf("vault keystore: %w", err)
	}
	client.ClearToken()     // never pick up VAULT_TOKEN implicitly: the auth method decides
	client.ClearNamespace() // nor VAULT_NAMESPACE: the config does (the login would not carry it)
	if opts.Namespace != "" {
		client.SetNamespace(opts.Namespace)
	}
	v := &Vault{client: client, opts: opts, log: log, stop: make(chan struct{}), done: make(chan struct{}),
		authErr: errors.New("not logged in yet")}
	first := v.login(context.Background())
	go v.keepLoggedIn(first)
	return v, nil
}

// Close stops the renewal goroutine and waits for it. Safe to call more than once.
func (v *Vault) Close() error {
	v.once.Do(func() { close(v.stop) })
	<-v.done
	if t, ok := v.client.CloneConfig().HttpClient.Transport.(*http.Transport); ok {
		t.CloseIdleConnections() // their read/write goroutines would outlive the store
	}
	return nil
}

// Ready reports whether keygate can use Vault: logged in, reachable, initialized, unsealed.
func (v *Vault) Ready(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, v.opts.Timeout)
	defer cancel()
	h, err := v.client.Sys().HealthWithContext(ctx)
	if err != nil {
		return readyFailure(fmt.Errorf("%w: vault at %s: %s", ErrUnavailable, v.opts.Address, describe(err)))
	}
	switch {
	case !h.Initialized:
		return readyFailure(fmt.Errorf("%w: vault at %s is not initialized", ErrUnavailable, v.opts.Address))
	case h.Sealed:
		return readyFailure(fmt.Errorf("%w: vault at %s is sealed", ErrUnavailable, v.opts.Address))
	}
	v.mu.Lock()
	authErr := v.authErr
	v.mu.Unlock()
	if authErr != nil {
		return readyFailure(fmt.Errorf("%w: vault login: %v", ErrUnavailable, authErr))
	}
	return nil
}

// notLoggedIn is the read failure while no login has succeeded: Vault is unavailable to
// keygate (the cache may serve stale values), not a policy denial.
func (v *Vault) notLoggedIn(ref Ref) error {
	if err := v.loginErr(); err != nil {
		return readFailure(ref, ErrUnavailable, "not logged in to vault: "+err.Error())
	}
	return nil
}

// loginErr is why keygate is not logged in to Vault, or nil.
func (v *Vault) loginErr() error {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.authErr
}

func (v *Vault) setAuthErr(err error) {
	v.mu.Lock()
	v.authErr = err
	v.mu.Unlock()
}

// VaultClient is the optional capability of sharing the authenticated Vault client, so that
// what a fleet of keygate replicas shares (config versions, provider tokens) lives in the same
// Vault, under the same login and renewal, as the keys.
type VaultClient interface {
	VaultClient() *vault.Client
}

// VaultClient returns the authenticated client. Its token is renewed and re-logged in by v.
func (v *Vault) VaultClient() *vault.Client { return v.client }

// VaultClient passes the wrapped store's client through, when it has one.
func (c *Cache) VaultClient() *vault.Client {
	if vc, ok := c.inner.(VaultClient); ok {
		return vc.VaultClient()
	}
	return nil
}
