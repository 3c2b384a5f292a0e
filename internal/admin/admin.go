// Package admin is keygate's admin API: HTTP+JSON under /v1 on its own listener, bearer API
// tokens (stored hashed) with three roles, every action audited. It also serves /healthz,
// /readyz and, when given, /metrics. Secret values are write-only: no reply carries one, except
// the AppKey of a newly issued tenant credential, revealed once in the reply that creates it.
package admin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/keygate/keygate/internal/audit"
	"github.com/keygate/keygate/internal/failure"
	"github.com/keygate/keygate/internal/secret"
	"github.com/keygate/keygate/internal/versions"
)

// Configs is the versioned config the API reads and changes; *versions.Manager implements it.
type Configs interface {
	Current() (versions.Version, bool)
	// Commit applies a change; one whose Base is no longer the newest version fails with
	// versions.ErrStale (a 409), never undoing the newer version.
	Commit(ctx context.Context, c versions.Change) (versions.Version, error)
	History(ctx context.Context) ([]versions.Version, error)
	Get(ctx context.Context, n int) (versions.Version, error)
}

// SecretWriter writes a new KV v2 secret version with check-and-set; keystore.Writer matches.
type SecretWriter interface {
	Put(ctx context.Context, mount, path string, fields map[string]secret.Value, cas int) (int, error)
}

// DryRunner signs a raw HTTP request as the provider would, without sending it. With Reveal
// false the output (and the explanation) must show secrets and signatures redacted; without
// FetchToken it sends nothing (a placeholder stands in for the provider's token).
type DryRunner interface {
	DryRun(ctx context.Context, tenant, provider string, rawRequest []byte, opts DryRunOptions) (DryRunResult, error)
}

// DryRunOptions are a dry run's query parameters.
type DryRunOptions struct {
	Reveal bool // print secret values (not for tenant developers)
	// MayReveal: the caller's role may see secret values (not a tenant developer), whether or
	// not this run reveals them. A pasted provider answer is decrypted under a secret IV only
	// for such a caller: for anyone else it is a chosen-ciphertext oracle on the IV.
	MayReveal  bool
	FetchToken bool // use the real token, fetching one if needed (not for tenant developers)
	Explain    bool // also say what each step signed (string to sign, canonical request)
	// Script, when set, replaces the provider's inline script for this run only (the
	// playground's unsaved script): compiled and run as a saved one would be, never stored.
	Script *string
	// Response is a raw HTTP/1.1 provider answer to run through the provider's response
	// processing after signing (the decrypted answer is DryRunResult.Response).
	Response []byte
}

// DryRunResult is what a dry run produced: the request that would leave, notes on what it did
// not do, and, when asked, what each step signed; all redacted unless revealed.
type DryRunResult struct {
	Output   []byte // the request that would leave
	Response []byte // the processed provider answer, when DryRunOptions.Response was set
	Notes    []string
	Explain  []string
	Timings  []StageTiming
}

// StageTiming is the time one stage of a dry run took.
type StageTiming struct {
	Phase  string `json:"phase"` // dry_run, request or response
	Stage  string `json:"stage"` // parse, identify, key_fetch, token, script, crypto, redact
	Micros int64  `json:"us"`
}

// ScriptChecker compiles a provider's script text as saving it would, without storing or
// running it (the playground's errors as you type).
type ScriptChecker interface {
	// CheckScript returns nil when text compiles, a *ScriptProblem when it does not, or
	// another error when it cannot be checked (no such provider, no script).
	CheckScript(ctx context.Context, provider, text string) error
}

// ScriptProblem is why a script does not compile; Line and Column (1-based, 0 when the
// problem has no place) point into the text as written.
type ScriptProblem struct {
	Line    int    `json:"line"`
	Column  int    `json:"column"`
	Message string `json:"message"`
}

func (p *ScriptProblem) Error() string {
	if p.Line > 0 {
		return fmt.Sprintf("script inline:%d:%d: %s", p.Line, p.Column, p.Message)
	}
	return "script: " + p.Message
}

// ProviderMetrics are one provider's request counters and latency since keygate started,
// gathered from the registry /metrics serves.
type ProviderMetrics struct {
	Tenant   string  `json:"tenant"`
	Provider string  `json:"provider"`
	Requests float64 `json:"requests"` // request phases processed
	Errors   float64 `json:"errors"`   // of them, failed
	// Responses are response phases processed (and ResponseErrors failed).
	Responses      float64 `json:"responses"`
	ResponseErrors float64 `json:"response_errors"`
	// MeanMillis is the mean time keygate spent on a request phase; P95Millis its 95th
	// percentile estimated from the histogram's buckets (0 without requests).
	MeanMillis float64 `json:"mean_ms"`
	P95Millis  float64 `json:"p95_ms"`
}

// MetricsSource answers the per-provider metrics; ok false: the series carry no tenant and
// provider names (admin.metrics.tenant_labels is off), so there is nothing per provider.
type MetricsSource func() (m []ProviderMetrics, ok bool, err error)

// AuditReader answers audit queries; *audit.Memory implements it.
type AuditReader interface {
	Query(f audit.Filter) []audit.Event
}

// Readiness reports whether keygate can serve (a config applied, the keystore reachable).
type Readiness func(ctx context.Context) error

// Options configure the API. Only Tokens and Configs are required.
type Options struct {
	Tokens []Token
	// TokenSet, when set, is used instead of Tokens: a set the caller replaces while the API
	// serves (admin.tokens_file).
	TokenSet *TokenSet
	JWT      JWTVerifier // nil: static tokens only
	// OIDCLogin, with JWT, serves the console's login by redirect (GET /v1/login/oidc, POST
	// /v1/login/oidc/token); nil: not offered.
	OIDCLogin *OIDCLogin
	Configs   Configs
	Secrets   SecretWriter // nil: secret writes answer 501
	// SecretMount and SecretPrefix place tenant secrets: PUT /v1/tenants/T/secrets/NAME writes
	// MOUNT/PREFIX/T/NAME. Defaults "secret" and "keygate/tenants".
	SecretMount  string
	SecretPrefix string
	DryRun       DryRunner     // nil: dry runs answer 501
	Scripts      ScriptChecker // nil: script checks answer 501
	// ProviderMetrics, when set, answers GET /v1/metrics/providers; nil: 501.
	ProviderMetrics MetricsSource
	Audit           audit.Sink   // where admin events go; default discard
	AuditLog        AuditReader  // nil: audit queries answer 501
	Ready           Readiness    // nil: always ready
	Metrics         http.Handler // served at /metrics when set
	// MetricsAuth reports, per request, whether /metrics wants a gateway admin's bearer token
	// (admin.metrics.require_token of the running version); nil: it does not.
	MetricsAuth func() bool
	// RestartRequired, when set, says which start-only settings a version changes against the
	// settings keygate started with: apply and rollback replies and GET /v1/config carry it
	// (to a gateway admin). nil: nothing is start-only (a test, or an API without a daemon).
	RestartRequired RestartReport
	Logger          *slog.Logger
	Now             func() time.Time
	MaxBodyBytes    int64 // default 1 MiB
}

func (o *Options) defaults() {
	if o.SecretMount == "" {
		o.SecretMount = "secret"
	}
	if o.SecretPrefix == "" {
		o.SecretPrefix = "keygate/tenants"
	}
	if o.Audit == nil {
		o.Audit = audit.Discard{}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = 1 << 20
	}
}

type server struct {
	opts   Options
	tokens *TokenSet
	guard  *guard         // failed logins and unauthenticated floods
	oidc   *oidcEndpoints // nil without OIDCLogin
	// scripts holds a token per unsaved script being compiled (script_slots.go).
	scripts chan struct{}
}

// ValidateTokens checks configured tokens: a sha256 hash, a known role, a tenant for tenant
// roles. Call it at startup; New ignores invalid tokens (they never authenticate).
func ValidateTokens(tokens []Token) error {
	_, err := compileTokens(tokens)
	return err
}

// New returns the API handler.
func New(opts Options) http.Handler {
	opts.defaults()
	tokens := opts.TokenSet
	if tokens == nil {
		var valid []Token
		for _, t := range opts.Tokens {
			if _, err := compileTokens([]Token{t}); err != nil {
				opts.Logger.Error("admin token ignored", "err", err)
				continue
			}
			valid = append(valid, t)
		}
		tokens, _ = NewTokenSet(valid) // every one compiled above
	}
	s := &server{opts: opts, tokens: tokens, guard: newGuard(), scripts: make(chan struct{}, scriptSlots)}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", s.readyz)
	if opts.Metrics != nil {
		mux.Handle("GET /metrics", s.metricsHandler(opts.Metrics, opts.MetricsAuth))
	}
	for _, rt := range routeTable {
		s.handle(mux, rt)
	}
	if o := opts.OIDCLogin; o != nil && opts.JWT != nil {
		// The login itself, so no bearer token: outside routeTable, rate-limited and audited
		// as a login (oidc_login.go).
		cfg := *o
		if len(cfg.Scopes) == 0 {
			cfg.Scopes = []string{"openid"}
		}
		if cfg.HTTPClient == nil {
			cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}
		}
		s.oidc = &oidcEndpoints{cfg: cfg}
		mux.HandleFunc("POST /v1/login/oidc/token", s.oidcToken)
	}
	// Always there, so the login page can ask without a 404 in the browser's console.
	mux.HandleFunc("GET /v1/login/oidc", s.oidcConfig)
	mux.HandleFunc("/v1/", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusNotFound, failure.BodyOf(errors.New("no such endpoint"), http.StatusNotFound))
	})
	return mux
}

// readyz answers the readiness probe. It is unauthenticated (and on listen.health in
// plaintext): the reply names only the kind of failure a readiness error offers
// (ReadinessReason, app.NotReady), the detail (a tenant's name, the keystore's error) goes to
// the log.
func (s *server) readyz(w http.ResponseWriter, r *http.Request) {
	if s.opts.Ready != nil {
		if err := s.opts.Ready(r.Context()); err != nil {
			s.opts.Logger.Warn("not ready", "err", err)
			reason := "not ready"
			var rr interface{ ReadinessReason() string }
			if errors.As(err, &rr) {
				reason = rr.ReadinessReason()
			}
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "not ready", "reason": reason})
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

func (s *server) whoami(c *call) (any, error) { return c.p, nil }
