package daemon

import (
	"context"
	"log/slog"
	"time"

	"github.com/keygate/keygate/extproc"
	"github.com/keygate/keygate/internal/audit"
)

// observers fans a request outcome out to metrics and to the audit log. The audit write is a
// signing event per request phase: tenant, provider, schemes, key references and versions,
// outcome, latency; never a value.
type observers struct {
	metrics extproc.Observer
	audit   audit.Sink
	version func() int
	log     *slog.Logger
	// logRequests: one log line per request phase (keygate dev): who, what, how it ended and
	// where the time went. Never a value: the outcome's error is secret-free by contract.
	logRequests bool
}

func (o observers) Observe(out extproc.Outcome) {
	o.metrics.Observe(out)
	if o.logRequests {
		o.log.Info("request", "phase", out.Phase, "tenant", out.Tenant, "provider", out.Provider, "status", out.Status,
			"stage", out.Stage, "took", out.Duration.Round(time.Microsecond), "stages", out.Stages.String(), "err", out.Err)
	}
	ev := audit.Sign{
		Time: time.Now(), Tenant: out.Tenant, Provider: out.Provider, Schemes: out.Schemes,
		Keys: out.KeysUsed, Status: out.Status, Stage: out.Stage, Latency: out.Duration,
		Version: o.version(), Outcome: audit.OutcomeOK,
	}
	if out.Err != nil {
		ev.Outcome, ev.Error = audit.OutcomeError, out.Err.Error()
	}
	if err := o.audit.Write(context.Background(), ev); err != nil {
		o.log.Warn("audit write failed", "err", err)
	}
}
