package deploy

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
	"go.yaml.in/yaml/v3"

	"github.com/keygate/keygate/extproc"
	"github.com/keygate/keygate/internal/metrics"
	"github.com/keygate/keygate/internal/token"
	"github.com/keygate/keygate/keystore"
)

const (
	dashboardFile = chartDir + "/files/keygate-dashboard.json"
	alertsFile    = chartDir + "/files/keygate-alerts.yaml"
)

// exported are the series names keygate's /metrics serves once every collector has a child:
// read from the real handler, histograms as their _bucket, _sum and _count series.
func exported(t *testing.T) map[string]bool {
	t.Helper()
	reg := prometheus.NewRegistry()
	m := metrics.New(reg)
	m.Observe(extproc.Outcome{Phase: "request", Tenant: "t", Provider: "p", Duration: time.Millisecond})
	m.Observe(extproc.Outcome{Phase: "request", Tenant: "t", Provider: "p", Status: 503, Stage: "key_fetch"})
	m.TokenObserver().Lookup(token.Key{Tenant: "t", Provider: "p"}, false)
	m.TokenObserver().Fetched(token.Key{Tenant: "t", Provider: "p"}, nil)
	ref := keystore.Ref{Mount: "secret", Path: "p", Field: "k"}
	m.CacheObserver().CacheHit(ref)
	m.CacheObserver().BackendError(ref, io.EOF)
	m.SetConfigVersion(1)
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	names := map[string]bool{}
	for _, line := range strings.Split(rec.Body.String(), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name := line[:strings.IndexAny(line, "{ ")]
		names[name] = true
	}
	// Series Prometheus itself adds to every scrape target.
	names["up"] = true
	return names
}

// checkExpr parses expr with Prometheus's PromQL parser and fails on any metric it selects that
// keygate does not export.
func checkExpr(t *testing.T, where, expr string, names map[string]bool) {
	t.Helper()
	e, err := parser.NewParser(parser.Options{}).ParseExpr(expr)
	if err != nil {
		t.Errorf("%s: %q does not parse: %v", where, expr, err)
		return
	}
	seen := 0
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		if vs, ok := n.(*parser.VectorSelector); ok {
			seen++
			if !names[vs.Name] {
				t.Errorf("%s: %q selects %s, which keygate does not export", where, expr, vs.Name)
			}
		}
		return nil
	})
	if seen == 0 {
		t.Errorf("%s: %q selects no metric", where, expr)
	}
}

// TestDashboard: the dashboard is JSON, every panel has queries, and each query parses and
// reads only series keygate's /metrics serves. Grafana's variables are replaced as Grafana does
// before a query is sent.
func TestDashboard(t *testing.T) {
	data, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Title  string `json:"title"`
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(data, &d); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	if len(d.Panels) == 0 {
		t.Fatal("dashboard without panels")
	}
	names := exported(t)
	vars := strings.NewReplacer("$__rate_interval", "5m", "$instance", ".*")
	for _, p := range d.Panels {
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			checkExpr(t, "panel "+p.Title, vars.Replace(tg.Expr), names)
		}
	}
}

// TestAlertRules: Prometheus's own rule-file parser accepts the file, every expression reads
// only series keygate exports, and every alert has a runbook section in docs/deploy.md.
func TestAlertRules(t *testing.T) {
	data, err := os.ReadFile(alertsFile)
	if err != nil {
		t.Fatal(err)
	}
	groups, errs := rulefmt.Parse(data, false, model.UTF8Validation, parser.NewParser(parser.Options{}), slog.New(slog.DiscardHandler))
	for _, e := range errs {
		t.Errorf("%s: %v", alertsFile, e)
	}
	if len(errs) > 0 {
		return
	}
	runbooks, err := os.ReadFile("../../docs/deploy.md")
	if err != nil {
		t.Fatal(err)
	}
	names := exported(t)
	alerts := 0
	for _, g := range groups.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" {
				continue
			}
			alerts++
			checkExpr(t, "alert "+r.Alert, r.Expr, names)
			anchor := "#" + strings.ToLower(r.Alert)
			if !strings.HasSuffix(r.Annotations["runbook_url"], "docs/deploy.md"+anchor) {
				t.Errorf("alert %s: runbook_url %q does not point at docs/deploy.md%s", r.Alert, r.Annotations["runbook_url"], anchor)
			}
			if !strings.Contains(string(runbooks), "\n### "+r.Alert+"\n") {
				t.Errorf("alert %s has no runbook section (### %s) in docs/deploy.md", r.Alert, r.Alert)
			}
		}
	}
	if alerts == 0 {
		t.Fatal("no alert in the rule file")
	}
	// The PrometheusRule the chart renders carries the same groups.
	var doc map[string]any
	if err := yaml.Unmarshal(data, &doc); err != nil || doc["groups"] == nil {
		t.Fatalf("%s: no groups: %v", alertsFile, err)
	}
}
