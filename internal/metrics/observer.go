package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/keygate/keygate/extproc"
	"github.com/keygate/keygate/signer"
)

var _ extproc.Observer = (*Metrics)(nil)

// seriesKey is one combination of request labels; a map indexed by it allocates nothing.
type seriesKey struct {
	tenant, provider, stage string
	phase                   int
	status                  int
}

// requestSeries are the children of one seriesKey, resolved on first use.
type requestSeries struct {
	requests prometheus.Counter
	duration prometheus.Observer
}

// Observe records one finished request phase (extproc.Observer). It takes no lock beyond a
// read lock after the first request of a label combination, and allocates nothing then.
func (m *Metrics) Observe(o extproc.Outcome) {
	phase := phaseRequest
	if o.Phase == "response" {
		phase = phaseResponse
	}
	tenant, provider := m.names(o.Tenant, o.Provider)
	s := m.seriesFor(seriesKey{tenant: tenant, provider: provider, stage: o.Stage, phase: phase, status: o.Status})
	s.requests.Inc()
	s.duration.Observe(o.Duration.Seconds())
	obs := &m.stageObs[phase]
	for st := range signer.NumStages {
		// A stage the provider does not use (no token, no script) is not observed as zero.
		if d := o.Stages[st]; d > 0 || st == signer.StageIdentify && phase == phaseRequest {
			obs[st].Observe(d.Seconds())
		}
	}
	obs[signer.NumStages].Observe(o.Duration.Seconds())
}

func (m *Metrics) seriesFor(k seriesKey) *requestSeries {
	m.mu.RLock()
	s, ok := m.series[k]
	m.mu.RUnlock()
	if ok {
		return s
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if s, ok := m.series[k]; ok {
		return s
	}
	outcome, status := "ok", "none"
	if k.status != 0 || k.stage != "" {
		outcome, status = "failed", statusClass(k.status)
	}
	s = &requestSeries{
		requests: m.requests.WithLabelValues(k.tenant, k.provider, phaseNames[k.phase], outcome, status, k.stage),
		duration: m.duration.WithLabelValues(k.tenant, k.provider, phaseNames[k.phase]),
	}
	m.series[k] = s
	return s
}

// statusClass keeps the status label to a handful of values.
func statusClass(status int) string {
	switch {
	case status >= 500:
		return "5xx"
	case status >= 400:
		return "4xx"
	case status > 0:
		return "other"
	}
	return "none"
}
