package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync/atomic"

	"github.com/keygate/keygate/internal/admin"
	"github.com/keygate/keygate/internal/app"
	"github.com/keygate/keygate/internal/audit"
	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/internal/console"
	"github.com/keygate/keygate/internal/dryrun"
	"github.com/keygate/keygate/internal/metrics"
	"github.com/keygate/keygate/keystore"
	"github.com/keygate/keygate/signer"
)

// newAdmin is the admin listener's handler: the /v1 API, /metrics, /healthz, /readyz and the
// web console under /ui/ (static files that call the API with the user's token).
func newAdmin(a *app.App, f *config.File, cfgs configs, sink audit.Sink, log *audit.Memory,
	m *metrics.Metrics, draining *atomic.Bool, logger *slog.Logger) (http.Handler, error) {
	tokens := make([]admin.Token, 0, len(f.Admin.Tokens))
	for _, t := range f.Admin.Tokens {
		tokens = append(tokens, admin.Token{Hash: t.Hash,
			Principal: admin.Principal{Name: t.Name, Role: admin.Role(t.Role), Tenant: t.Tenant}})
	}
	if err := admin.ValidateTokens(tokens); err != nil {
		return nil, fmt.Errorf("admin.tokens: %w", err)
	}
	if len(tokens) == 0 && f.Admin.JWT == nil {
		logger.Warn("no admin login is configured: the admin API refuses every request (401); " +
			"make a token with `keygate admin token create --name NAME --role gateway_admin` and add the line it prints under admin.tokens")
	}
	opts := admin.Options{
		Tokens: tokens, Configs: cfgs, DryRun: dryRunner{a}, Audit: sink, AuditLog: log,
		Metrics: m.Handler(), MetricsAuth: f.Admin.Metrics.RequireToken, Logger: logger,
		Ready: func(ctx context.Context) error {
			if draining.Load() {
				return errors.New("draining")
			}
			return a.Ready(ctx)
		},
	}
	if w, ok := a.Keystore.(keystore.Writer); ok {
		opts.Secrets = w
	}
	if j := f.Admin.JWT; j != nil {
		v, err := newJWTVerifier(j)
		if err != nil {
			return nil, fmt.Errorf("admin.jwt: %w", err)
		}
		opts.JWT = v
	}
	mux := http.NewServeMux()
	ui := console.Handler()
	mux.Handle(console.Prefix, ui)
	mux.Handle(strings.TrimSuffix(console.Prefix, "/"), ui)
	mux.Handle("/", admin.New(opts))
	return mux, nil
}

// newJWTVerifier is admin.jwt as the admin API's verifier.
func newJWTVerifier(j *config.AdminJWT) (admin.JWTVerifier, error) {
	c := admin.JWTConfig{Issuer: j.Issuer, Audience: j.Audience, JWKSURL: j.JWKSURL,
		RoleClaim: j.RoleClaim, TenantClaim: j.TenantClaim, Algorithms: j.Algorithms, MaxLifetime: j.MaxLifetime.Or(0)}
	if j.JWKSFile != "" {
		b, err := os.ReadFile(j.JWKSFile)
		if err != nil {
			return nil, err
		}
		c.JWKS = b
	}
	return admin.NewJWTVerifier(c)
}

// dryRunner is the admin API's dry run: the same pipeline as `keygate sign`, on the current
// snapshot, redacted unless the role may reveal.
type dryRunner struct{ a *app.App }

func (d dryRunner) DryRun(ctx context.Context, tenant, provider string, raw []byte, opts admin.DryRunOptions) (admin.DryRunResult, error) {
	snap := d.a.Snapshots.Load()
	if snap == nil {
		return admin.DryRunResult{}, errors.New("no configuration loaded")
	}
	// Redaction reads the provider's secret values with the same login signing uses.
	keys := d.a.Keystore
	if p, ok := snap.ProviderByName(provider); ok {
		keys = d.a.StoreFor(p.Tenant)
	}
	res, err := dryrun.Run(ctx, snap, dryrun.Input{
		Provider: provider, Tenant: tenant, Request: raw, Clock: signer.SystemClock(),
		Reveal: opts.Reveal, Keys: keys, FetchToken: opts.FetchToken, Explain: opts.Explain,
	})
	return admin.DryRunResult{Output: res.Output, Notes: res.Notes, Explain: res.Explain}, err
}
