// Package metrics is keygate's Prometheus instrumentation: request outcomes per tenant and
// provider, latency per pipeline stage, token manager and keystore cache events, and the
// config version. The registry is passed in (never the global default), and no label ever
// carries a secret: labels are tenant, provider, phase, outcome, status class, stage, result
// and keystore mount names.
package metrics

import (
	"net/http"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/keygate/keygate/signer"
)

// latencyBuckets span a cached signature (tens of microseconds) to a slow Vault or token call.
var latencyBuckets = []float64{
	25e-6, 50e-6, 100e-6, 250e-6, 500e-6, 1e-3, 2.5e-3, 5e-3, 10e-3, 25e-3, 50e-3, 100e-3, 250e-3, 500e-3, 1, 2.5,
}

// Metrics holds keygate's collectors. It implements extproc.Observer; TokenObserver and
// CacheObserver adapt it to the token manager and the keystore cache.
type Metrics struct {
	gatherer prometheus.Gatherer // nil when the Registerer cannot gather

	requests      *prometheus.CounterVec   // tenant, provider, phase, outcome, status, stage
	duration      *prometheus.HistogramVec // tenant, provider, phase
	stages        *prometheus.HistogramVec // phase, stage
	tokenLookups  *prometheus.CounterVec   // tenant, provider, result
	tokenFetches  *prometheus.CounterVec   // tenant, provider, outcome
	cache         *prometheus.CounterVec   // mount, result
	vaultErrors   *prometheus.CounterVec   // mount
	configVersion prometheus.Gauge
	// restartRequired is 1 while the running version changes a setting keygate serve reads only
	// at start (daemon's startOnly). No label: which settings is in the log and the admin API.
	restartRequired prometheus.Gauge
	applyFailures   *prometheus.CounterVec // source

	// stageObs are the stage histograms resolved once: [phase][stage], the last stage "total".
	stageObs [numPhases][signer.NumStages + 1]prometheus.Observer

	mu     sync.RWMutex
	series map[seriesKey]*requestSeries // resolved children, so a request allocates nothing

	lookupCounters counters[lookupKey] // tokenLookups' children
	cacheCounters  counters[cacheKey]  // cache's children

	hideNames bool
}

// names are the tenant and provider label values: the names, or "" when they are hidden.
func (m *Metrics) names(tenant, provider string) (string, string) {
	if m.hideNames {
		return "", ""
	}
	return tenant, provider
}

const (
	phaseRequest = iota
	phaseResponse
	numPhases
)

var phaseNames = [numPhases]string{"request", "response"}

// Options shape the series.
type Options struct {
	// HideNames writes "" for every tenant and provider label: /metrics then shows no tenant's
	// name, integrations or volume, only totals (admin.metrics.tenant_labels: false).
	HideNames bool
}

// New registers keygate's collectors on reg with tenant and provider labels. If reg is also
// a prometheus.Gatherer (a *prometheus.Registry is), Handler serves it.
func New(reg prometheus.Registerer) *Metrics { return NewWithOptions(reg, Options{}) }

// NewWithOptions is New with opts.
func NewWithOptions(reg prometheus.Registerer, opts Options) *Metrics {
	m := &Metrics{series: map[seriesKey]*requestSeries{}, hideNames: opts.HideNames}
	m.gatherer, _ = reg.(prometheus.Gatherer)
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "keygate_requests_total",
		Help: "Request phases processed, by tenant, provider, phase (request|response), outcome (ok|failed), status class of a failure (none|4xx|5xx) and failing stage.",
	}, []string{"tenant", "provider", "phase", "outcome", "status", "stage"})
	m.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "keygate_request_duration_seconds", Help: "Time keygate spent on a request phase, by tenant and provider.",
		Buckets: latencyBuckets,
	}, []string{"tenant", "provider", "phase"})
	m.stages = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "keygate_stage_duration_seconds",
		Help:    "Time per pipeline stage (identify, config, key_fetch, token, script, crypto, total) of a request phase.",
		Buckets: latencyBuckets,
	}, []string{"phase", "stage"})
	m.tokenLookups = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "keygate_token_lookups_total", Help: "Token requests answered from the cache (hit) or needing a fetch (miss).",
	}, []string{"tenant", "provider", "result"})
	m.tokenFetches = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "keygate_token_fetches_total", Help: "Calls of a token endpoint, by outcome (ok|failed).",
	}, []string{"tenant", "provider", "outcome"})
	m.cache = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "keygate_keystore_cache_total", Help: "Keystore cache lookups by result (hit|miss|stale).",
	}, []string{"mount", "result"})
	m.vaultErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "keygate_vault_errors_total", Help: "Keystore backend (Vault) calls that failed, by mount.",
	}, []string{"mount"})
	m.configVersion = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "keygate_config_version", Help: "Version of the configuration being served.",
	})
	m.restartRequired = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "keygate_config_restart_required",
		Help: "Whether the configuration being served changes settings read only at start (listen, keystore, state, ...), which take effect at the next restart: 1 yes, 0 no. GET /v1/config names them.",
	})
	m.applyFailures = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "keygate_config_apply_failures_total",
		Help: "Config changes nobody was there to see refused: the watched config file (file), a version another replica stored (store), or the admin tokens file (admin_tokens_file).",
	}, []string{"source"})
	reg.MustRegister(m.requests, m.duration, m.stages, m.tokenLookups, m.tokenFetches, m.cache, m.vaultErrors, m.configVersion, m.restartRequired, m.applyFailures)
	for _, src := range []string{"file", "store", "admin_tokens_file"} {
		m.applyFailures.WithLabelValues(src) // present at 0, so increase() sees the first failure
	}
	for p := range numPhases {
		for s := range signer.NumStages {
			m.stageObs[p][s] = m.stages.WithLabelValues(phaseNames[p], s.String())
		}
		m.stageObs[p][signer.NumStages] = m.stages.WithLabelValues(phaseNames[p], "total")
	}
	return m
}

// SetConfigVersion records the version of the snapshot now serving.
func (m *Metrics) SetConfigVersion(v int) { m.configVersion.Set(float64(v)) }

// SetRestartRequired records whether the version being served changes a start-only setting.
func (m *Metrics) SetRestartRequired(pending bool) {
	v := 0.0
	if pending {
		v = 1
	}
	m.restartRequired.Set(v)
}

// ConfigApplyFailed counts a config change the daemon could not apply on its own: source is
// "file" (the watched config file), "store" (a version another replica stored) or
// "admin_tokens_file" (admin.tokens_file).
func (m *Metrics) ConfigApplyFailed(source string) { m.applyFailures.WithLabelValues(source).Inc() }

// Handler serves the registry New was given in the Prometheus text format, for /metrics on
// the admin port. It answers 500 if that registry cannot gather; mount
// promhttp.HandlerFor(gatherer, promhttp.HandlerOpts{}) instead in that case.
func (m *Metrics) Handler() http.Handler {
	if m.gatherer == nil {
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, "metrics registry cannot be gathered", http.StatusInternalServerError)
		})
	}
	return promhttp.HandlerFor(m.gatherer, promhttp.HandlerOpts{})
}
