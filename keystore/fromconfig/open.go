// Package fromconfig builds the keystore a config names, in one call for cmd. It lives apart
// from package keystore because internal/config imports keystore (to parse references), so
// keystore cannot import config.
package fromconfig

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/keystore"
)

// Open builds the store cfg names: the file keystore (development), or Vault wrapped in the
// cache. Vault being down does not fail Open: keygate starts, Ready (keystore.Checker) reports
// the error, and the login is retried in the background. Open fails only on a config it cannot
// use (unknown type, unreadable file keystore, bad auth or TLS settings).
func Open(ctx context.Context, cfg config.Keystore, log *slog.Logger) (keystore.Store, error) {
	return OpenObserved(ctx, cfg, log, nil)
}

// OpenObserved is Open with the Vault cache's events going to obs (metrics); nil for none.
func OpenObserved(ctx context.Context, cfg config.Keystore, log *slog.Logger, obs keystore.CacheObserver) (keystore.Store, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.Type == "" && cfg.File == nil {
		// No keystore configured (a config whose providers need no secrets): a reference fails
		// closed with 503, naming it.
		return keystore.None{}, nil
	}
	switch cfg.Type {
	case "", "file": // as validation reads it: an unset type with a file section is a file
		if cfg.File == nil || cfg.File.Path == "" {
			return nil, fmt.Errorf("keystore.file.path is required when keystore.type is file")
		}
		return keystore.OpenFile(cfg.File.Path, log)
	case "vault":
		if cfg.Vault == nil {
			return nil, fmt.Errorf("keystore.vault is required when keystore.type is vault")
		}
		return openVault(ctx, *cfg.Vault, log, obs)
	}
	return nil, fmt.Errorf("keystore.type %q is not one of file, vault", cfg.Type)
}

// OpenTenants opens one Vault store per tenant of keystore.vault.tenants, each logged in with
// that tenant's own auth (same address, TLS and cache settings). Nothing when none is set.
func OpenTenants(ctx context.Context, cfg config.Keystore, log *slog.Logger, obs keystore.CacheObserver) (map[string]keystore.Store, error) {
	if cfg.Type != "vault" || cfg.Vault == nil || len(cfg.Vault.Tenants) == 0 {
		return nil, nil
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	out := map[string]keystore.Store{}
	for tenant, a := range cfg.Vault.Tenants {
		vc := *cfg.Vault
		vc.Auth, vc.Tenants = a, nil
		st, err := openVault(ctx, vc, log.With("tenant", tenant), obs)
		if err != nil {
			for _, o := range out {
				_ = o.Close()
			}
			return nil, fmt.Errorf("keystore.vault.tenants.%s: %w", tenant, err)
		}
		out[tenant] = st
	}
	return out, nil
}

func openVault(_ context.Context, vc config.Vault, log *slog.Logger, obs keystore.CacheObserver) (keystore.Store, error) {
	auth, err := Auth(vc.Auth)
	if err != nil {
		return nil, fmt.Errorf("keystore.vault.auth: %w", err)
	}
	opts := keystore.VaultOptions{
		Address: vc.Address, Namespace: vc.Namespace, Timeout: vc.Timeout.Std(), Auth: auth,
	}
	if vc.TLS != nil {
		opts.CAFile, opts.TLSServerName = vc.TLS.CAFile, vc.TLS.ServerName
	}
	v, err := keystore.NewVault(opts, log)
	if err != nil {
		return nil, err
	}
	copts := CacheOptions(vc.Cache)
	copts.Observer = obs
	c, err := keystore.NewCache(v, copts)
	if err != nil {
		_ = v.Close()
		return nil, fmt.Errorf("keystore cache: %w", err)
	}
	return c, nil
}

// CacheOptions converts the config's cache section.
func CacheOptions(c config.Cache) keystore.CacheOptions {
	return keystore.CacheOptions{
		TTL: c.TTL.Std(), NegativeTTL: c.NegativeTTL.Std(), StaleIfError: c.StaleIfError.Std(), MaxBytes: c.MaxBytes,
	}
}

// Auth builds the Vault auth method the config selects.
func Auth(a config.VaultAuth) (keystore.VaultAuth, error) {
	switch a.Method {
	case "token":
		return keystore.NewTokenAuth(a.TokenEnv, a.TokenFile), nil
	case "approle":
		return keystore.NewAppRoleAuth(a.Mount, a.RoleID, a.SecretIDFile, a.SecretIDEnv)
	case "kubernetes":
		return keystore.NewKubernetesAuth(a.Mount, a.Role, a.JWTFile)
	case "jwt":
		return keystore.NewJWTAuth(a.Mount, a.Role, a.JWTFile)
	}
	return nil, fmt.Errorf("method %q is not one of token, approle, jwt, kubernetes", a.Method)
}
