package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/keygate/keygate/internal/admin"
	"github.com/keygate/keygate/internal/app"
	"github.com/keygate/keygate/internal/audit"
	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/internal/console"
	"github.com/keygate/keygate/internal/dryrun"
	"github.com/keygate/keygate/internal/gateway"
	"github.com/keygate/keygate/internal/metrics"
	"github.com/keygate/keygate/internal/script"
	"github.com/keygate/keygate/keystore"
	"github.com/keygate/keygate/signer"
)

// newAdmin is the admin listener's handler: the /v1 API, /metrics, /healthz and /readyz, the
// web console under /ui/ (static files that call the API with the user's token), the watcher
// of admin.tokens_file (nil without one) for the caller to run, and the static logins, which
// the caller tells of every config version applied (adminLogins.versionApplied).
func newAdmin(a *app.App, f *config.File, cfgs configs, sink audit.Sink, log *audit.Memory,
	m *metrics.Metrics, draining *atomic.Bool, restart admin.RestartReport, logger *slog.Logger) (http.Handler, func(context.Context, time.Duration), *adminLogins, error) {
	static := adminTokens(f.Admin.Tokens) // the running version's follow (daemon.go: versionApplied)
	var fromFile []admin.Token
	var fileData []byte
	if p := f.Admin.TokensFile; p != "" {
		tokens, data, err := config.ReadAdminTokensFile(p)
		if err != nil {
			return nil, nil, nil, err
		}
		fileData, fromFile = data, adminTokens(tokens)
	}
	all := append(slices.Clone(static), fromFile...)
	tokens, err := admin.NewTokenSet(all)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("admin.tokens: %w", err)
	}
	logins := &adminLogins{set: tokens, config: static, file: fromFile, log: logger}
	logins.metricsAuth.Store(f.Admin.Metrics.RequireToken)
	if len(all) == 0 && f.Admin.JWT == nil {
		logger.Warn("no admin login is configured: the admin API refuses every request (401); " +
			"make a token with `keygate admin token create --name NAME --role gateway_admin` and add the line it prints under admin.tokens " +
			"(or in admin.tokens_file)")
	}
	var watch func(context.Context, time.Duration)
	if p := f.Admin.TokensFile; p != "" {
		w := tokensWatch{path: p, last: config.Hash(fileData), logins: logins, cfgs: cfgs, audit: sink, log: logger}
		watch = w.run
	}
	opts := admin.Options{
		TokenSet: tokens, Configs: cfgs, DryRun: dryRunner{a}, Scripts: dryRunner{a}, Audit: sink, AuditLog: log,
		ProviderMetrics: providerMetrics(m), RestartRequired: restart,
		Metrics: m.Handler(), MetricsAuth: logins.metricsAuth.Load, Logger: logger,
		Ready: func(ctx context.Context) error {
			if draining.Load() {
				return app.NotReady("draining", nil)
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
			return nil, nil, nil, fmt.Errorf("admin.jwt: %w", err)
		}
		logins.jwt = &followedJWT{}
		logins.jwt.cur.Store(&jwtState{key: jwtKey(j), v: v})
		opts.JWT = logins.jwt
		if c := j.Console; c != nil {
			opts.OIDCLogin = &admin.OIDCLogin{Issuer: j.Issuer, ClientID: c.ClientID,
				AuthorizationURL: c.AuthorizationURL, TokenURL: c.TokenURL, Scopes: c.Scopes}
		}
	}
	mux := http.NewServeMux()
	ui := console.Handler()
	mux.Handle(console.Prefix, ui)
	mux.Handle(strings.TrimSuffix(console.Prefix, "/"), ui)
	mux.Handle("/", admin.New(opts))
	return mux, watch, logins, nil
}

// adminTokens is config token entries as the admin API's.
func adminTokens(in []config.AdminToken) []admin.Token {
	out := make([]admin.Token, 0, len(in))
	for _, t := range in {
		out = append(out, admin.Token{Hash: t.Hash,
			Principal: admin.Principal{Name: t.Name, Role: admin.Role(t.Role), Tenant: t.Tenant}})
	}
	return out
}

// tokensWatch re-reads admin.tokens_file when its content changes (a Kubernetes Secret's
// symlink swap, an editor's rename, an in-place write all look the same: a new content hash)
// and makes the running config's tokens plus the file's the accepted set (adminLogins). A file
// that does not parse is refused as a whole: logged with the line at fault, counted
// (keygate_config_apply_failures_total{source="admin_tokens_file"}), audited, and the previous
// set stays. A file that cannot be read (being replaced) is tried again next tick.
type tokensWatch struct {
	path   string
	last   string // the content hash the current set came from
	logins *adminLogins
	cfgs   configs
	audit  audit.Sink
	log    *slog.Logger
}

func (w *tokensWatch) run(ctx context.Context, every time.Duration) {
	tick(ctx, every, func() { w.check(ctx) })
}

func (w *tokensWatch) check(ctx context.Context) {
	data, err := os.ReadFile(w.path)
	if err != nil {
		return
	}
	hash := config.Hash(data)
	if hash == w.last {
		return
	}
	w.last = hash
	fromFile, err := config.ParseAdminTokens(data)
	if err != nil {
		err = config.AdminTokensFileError(w.path, err)
	} else {
		err = w.logins.setFile(adminTokens(fromFile))
	}
	outcome := "applied"
	if err != nil {
		w.log.Error("admin tokens file change refused: the previous tokens stay", "file", w.path, "err", err)
		w.cfgs.failed("admin_tokens_file")
		outcome = "refused"
	} else {
		w.log.Info("admin tokens file applied", "file", w.path, "tokens", w.logins.set.Len())
	}
	ev := audit.Admin{Time: time.Now().UTC(), Actor: "file-watcher", Role: "cli",
		Action: "admin.tokens_file", Target: w.path, Outcome: outcome}
	if err != nil {
		ev.Error = err.Error()
	}
	_ = w.audit.Write(ctx, ev)
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
// snapshot (or, for an unsaved script, a snapshot of that provider compiled with it, never
// published), redacted unless the role may reveal.
type dryRunner struct{ a *app.App }

func (d dryRunner) DryRun(ctx context.Context, tenant, provider string, raw []byte, opts admin.DryRunOptions) (admin.DryRunResult, error) {
	snap := d.a.Snapshots.Load()
	if snap == nil {
		return admin.DryRunResult{}, errors.New("no configuration loaded")
	}
	if opts.Script != nil {
		if _, err := gateway.Scripted(snap, provider); err != nil {
			return admin.DryRunResult{}, err
		}
		s, err := d.a.Compiler.WithScript(snap, provider, *opts.Script)
		if err != nil {
			return admin.DryRunResult{}, scriptError(err)
		}
		snap = s
	}
	// Redaction reads the provider's secret values with the same login signing uses.
	keys := d.a.Keystore
	if p, ok := snap.ProviderByName(provider); ok {
		keys = d.a.StoreFor(p.Tenant)
	}
	res, err := dryrun.Run(ctx, snap, dryrun.Input{
		Provider: provider, Tenant: tenant, Request: raw, Response: opts.Response, Clock: signer.SystemClock(),
		Reveal: opts.Reveal, Keys: keys, FetchToken: opts.FetchToken, Explain: opts.Explain,
		// A caller whose role may not see the secrets (a tenant developer) pasted an answer of
		// its own choice: it is not decrypted under a secret IV, which that would give away.
		// An admin may reveal the IV anyway, so an answer it pastes is decrypted.
		ChosenResponse: !opts.Reveal && !opts.MayReveal,
	})
	out := admin.DryRunResult{Output: res.Request, Response: res.Response, Notes: res.Notes, Explain: res.Explain}
	for _, t := range res.Timings {
		out.Timings = append(out.Timings, admin.StageTiming{Phase: t.Phase, Stage: t.Stage, Micros: t.Micros})
	}
	return out, err
}

// CheckScript compiles text as provider's script with the gateway's compiler (the one a save
// uses), building nothing else.
func (d dryRunner) CheckScript(_ context.Context, provider, text string) error {
	snap := d.a.Snapshots.Load()
	if snap == nil {
		return errors.New("no configuration loaded")
	}
	if _, err := gateway.Scripted(snap, provider); err != nil {
		return err // the caller's mistake, not a problem in the text
	}
	return scriptError(d.a.Compiler.CheckScript(snap, provider, text))
}

// scriptError turns the script compiler's syntax error into the API's problem at its line
// and column; a script that parses but does not compile (a function name, a secret role) is
// a problem without a place.
func scriptError(err error) error {
	var se *script.SyntaxError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &se):
		return &admin.ScriptProblem{Line: se.Line, Column: se.Column, Message: se.Msg}
	}
	return &admin.ScriptProblem{Message: err.Error()}
}

// providerMetrics is GET /v1/metrics/providers: m's registry summed per provider.
func providerMetrics(m *metrics.Metrics) admin.MetricsSource {
	return func() ([]admin.ProviderMetrics, bool, error) {
		totals, named, err := m.PerProvider()
		out := make([]admin.ProviderMetrics, 0, len(totals))
		for _, t := range totals {
			out = append(out, admin.ProviderMetrics{Tenant: t.Tenant, Provider: t.Provider,
				Requests: t.Requests, Errors: t.Errors, Responses: t.Responses, ResponseErrors: t.RespErrors,
				MeanMillis: t.Mean * 1e3, P95Millis: t.P95 * 1e3})
		}
		return out, named, err
	}
}
