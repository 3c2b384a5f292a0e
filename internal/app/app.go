package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/internal/dryrun"
	"github.com/keygate/keygate/internal/gateway"
	"github.com/keygate/keygate/internal/script"
	"github.com/keygate/keygate/internal/tenancy"
	"github.com/keygate/keygate/internal/token"
	"github.com/keygate/keygate/keystore"
	"github.com/keygate/keygate/keystore/fromconfig"
	"github.com/keygate/keygate/signer"
)

// Options tune an App beyond what the config says.
type Options struct {
	Logger *slog.Logger
	// TokenStore shares tokens across replicas (Vault KV v2); default in memory.
	TokenStore token.Store
	// HTTPClient makes token calls; default a client with sane transport timeouts.
	HTTPClient *http.Client
	// Keystore, when set, is used instead of opening the one the config names (tests, or a
	// store shared by several Apps). The App does not close it.
	Keystore keystore.Store
	// TokenObserver receives the token manager's events (metrics); default none.
	TokenObserver token.Observer
	// TenantKeystores, when set, replace the per-tenant Vault logins the config names
	// (keystore.vault.tenants). The App does not close them.
	TenantKeystores map[string]keystore.Store
	// ScriptMaxMemory is the ceiling of every provider's script.memory_bytes (limits.
	// script_memory_bytes, read at start); default script.DefaultMemory.
	ScriptMaxMemory int64
}

// App is a keygate process's long-lived parts: the keystore, the token manager, the compiler
// and the current snapshot. Snapshots come and go; these stay for the life of the process.
type App struct {
	Log       *slog.Logger
	Keystore  keystore.Store
	Tokens    *token.Manager
	Compiler  *gateway.Compiler
	Snapshots gateway.Holder
	ownStore  bool
	// tenantStores are the keystores of tenants with their own Vault login; others use Keystore.
	tenantStores    map[string]keystore.Store
	ownTenantStores bool
}

// StoreFor is the keystore tenant's secrets are read with: its own Vault login when
// keystore.vault.tenants names one, else the gateway's.
func (a *App) StoreFor(tenant string) keystore.Store {
	if s, ok := a.tenantStores[tenant]; ok {
		return s
	}
	return a.Keystore
}

// New opens the keystore the config names and builds the compilers. It does not compile the
// config: call Apply.
func New(ctx context.Context, cfg config.Keystore, opts Options) (*App, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	a := &App{Log: log, Keystore: opts.Keystore}
	if a.Keystore == nil {
		store, err := fromconfig.Open(ctx, cfg, log)
		if err != nil {
			return nil, fmt.Errorf("keystore: %w", err)
		}
		a.Keystore, a.ownStore = store, true
	}
	a.tenantStores = opts.TenantKeystores
	if a.tenantStores == nil {
		stores, err := fromconfig.OpenTenants(ctx, cfg, log, nil)
		if err != nil {
			_ = a.Close()
			return nil, fmt.Errorf("keystore: %w", err)
		}
		a.tenantStores, a.ownTenantStores = stores, true
	}
	client := opts.HTTPClient
	if client == nil {
		client = &http.Client{Transport: &http.Transport{
			Proxy: http.ProxyFromEnvironment, TLSHandshakeTimeout: 5 * time.Second,
			ResponseHeaderTimeout: 10 * time.Second, MaxIdleConnsPerHost: 4,
		}}
	}
	// Every token and script call goes through this client: a dry run's context makes it
	// refuse, so a dry run sends nothing whatever a script tries.
	offline := *client
	if offline.Transport == nil {
		offline.Transport = http.DefaultTransport
	}
	offline.Transport = dryrun.OfflineTransport(offline.Transport)
	client = &offline
	maxMemory := opts.ScriptMaxMemory
	a.Tokens = token.NewManager(token.Options{Store: opts.TokenStore, Logger: log, HTTPClient: client, Observer: opts.TokenObserver})
	a.Compiler = &gateway.Compiler{
		Catalog: signer.Builtins(),
		NewKeys: func(tenant string, refs map[string]keystore.Ref) signer.Keys {
			return signer.NewKeys(a.StoreFor(tenant), refs)
		},
		Tokens:  a.Tokens.Provider,
		Tenancy: func(ts []config.Tenant) (gateway.Tenancy, error) { return tenancy.Compile(ts) },
		Script: func(cfg config.Script, b signer.Build, ts *config.TokenSource) (signer.Step, error) {
			opts := script.Options{HTTPClient: client, Logger: log, MaxMemory: maxMemory}
			if ts != nil {
				opts.TokenURL, opts.TokenTimeout = ts.URL, ts.Timeout.Std()
			}
			return script.Compile(cfg, b, opts)
		},
	}
	return a, nil
}

// Compile compiles f without publishing it.
func (a *App) Compile(f *config.File, meta gateway.Meta) (*gateway.Snapshot, error) {
	return a.Compiler.Compile(f, meta)
}

// Apply compiles f and, only if that succeeds, publishes it as the current snapshot.
func (a *App) Apply(f *config.File, meta gateway.Meta) (*gateway.Snapshot, error) {
	snap, err := a.Compile(f, meta)
	if err != nil {
		return nil, err
	}
	a.Publish(snap)
	return snap, nil
}

// Publish makes snap the current snapshot and drops the cached tokens of providers it no
// longer has.
func (a *App) Publish(snap *gateway.Snapshot) {
	a.Snapshots.Store(snap)
	live := map[token.Key]bool{}
	for _, p := range snap.File.Providers {
		live[token.Key{Tenant: p.Tenant, Provider: p.Name}] = true
	}
	a.Tokens.Retain(func(k token.Key) bool { return live[k] })
}

// Ready reports whether keygate can serve: a snapshot is loaded and the keystore is reachable.
// Its errors are NotReady: a reason fit for an unauthenticated probe, the detail for the log.
func (a *App) Ready(ctx context.Context) error {
	if a.Snapshots.Load() == nil {
		return NotReady("no configuration loaded", nil)
	}
	if c, ok := a.Keystore.(keystore.Checker); ok {
		if err := c.Ready(ctx); err != nil {
			return NotReady("keystore unreachable", fmt.Errorf("keystore: %w", err))
		}
	}
	for tenant, st := range a.tenantStores {
		if c, ok := st.(keystore.Checker); ok {
			if err := c.Ready(ctx); err != nil {
				return NotReady("keystore unreachable", fmt.Errorf("keystore (tenant %s): %w", tenant, err))
			}
		}
	}
	return nil
}

// NotReady is a readiness failure: reason is what /readyz may tell anyone (the probe is
// unauthenticated, and listen.health serves it in plaintext), err the detail for the log
// (a tenant's name, a Vault address, the keystore's error). A nil err logs the reason.
func NotReady(reason string, err error) error {
	if err == nil {
		err = errors.New(reason)
	}
	return &notReady{reason: reason, err: err}
}

type notReady struct {
	reason string
	err    error
}

func (e *notReady) Error() string           { return e.err.Error() }
func (e *notReady) Unwrap() error           { return e.err }
func (e *notReady) ReadinessReason() string { return e.reason }

// Close stops the token manager's background work and releases the keystores the App opened.
func (a *App) Close() error {
	a.Tokens.Close()
	var errs []error
	if a.ownTenantStores {
		for _, s := range a.tenantStores {
			errs = append(errs, s.Close())
		}
	}
	if a.ownStore {
		errs = append(errs, a.Keystore.Close())
	}
	return errors.Join(errs...)
}
