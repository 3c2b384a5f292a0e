package deploy

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/promql/promqltest"
	"github.com/prometheus/prometheus/rules"
	"go.yaml.in/yaml/v3"
)

// alertTestsFile holds the alert rules' unit tests in `promtool test rules` format: the same
// file runs with Prometheus's own promtool (`promtool test rules
// test/deploy/testdata/keygate-alerts.test.yaml`), and here, in `make test`, through the
// packages promtool's runner is built from (promqltest's lazy loader for input_series,
// rules.Manager for evaluation), pinned in this module's go.mod. promtool itself is package
// main and pulls in every service discovery's SDK, so it is not imported.
const alertTestsFile = "testdata/keygate-alerts.test.yaml"

// The subset of promtool's unit-test file this runner reads (cmd/promtool/unittest.go:
// unitTestFile, testGroup, series, alertTestCase, alert). Unknown keys are an error, so a
// promql_expr_test or a key this runner ignores cannot silently pass.
type ruleTestFile struct {
	RuleFiles          []string        `yaml:"rule_files"`
	EvaluationInterval model.Duration  `yaml:"evaluation_interval"`
	Tests              []ruleTestGroup `yaml:"tests"`
}

type ruleTestGroup struct {
	Name        string         `yaml:"name"`
	Interval    model.Duration `yaml:"interval"`
	InputSeries []struct {
		Series string `yaml:"series"`
		Values string `yaml:"values"`
	} `yaml:"input_series"`
	AlertRuleTest []struct {
		EvalTime  model.Duration `yaml:"eval_time"`
		Alertname string         `yaml:"alertname"`
		ExpAlerts []struct {
			ExpLabels      map[string]string `yaml:"exp_labels"`
			ExpAnnotations map[string]string `yaml:"exp_annotations"`
		} `yaml:"exp_alerts"`
	} `yaml:"alert_rule_test"`
}

// TestAlertRulesUnit runs the alert rules' unit tests (promtool test rules) and checks every
// alert of the rule file has a test in which it fires and one in which it does not.
func TestAlertRulesUnit(t *testing.T) {
	data, err := os.ReadFile(alertTestsFile)
	if err != nil {
		t.Fatal(err)
	}
	var f ruleTestFile
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		t.Fatalf("%s: %v", alertTestsFile, err)
	}
	if len(f.RuleFiles) != 1 || filepath.Clean(filepath.Join(filepath.Dir(alertTestsFile), f.RuleFiles[0])) != filepath.Clean(alertsFile) {
		t.Fatalf("%s: rule_files = %v, want the chart's %s", alertTestsFile, f.RuleFiles, alertsFile)
	}
	ruleFile := filepath.Join(filepath.Dir(alertTestsFile), f.RuleFiles[0])
	every := time.Duration(f.EvaluationInterval)
	if every <= 0 {
		every = time.Minute
	}
	fired, quiet := map[string]bool{}, map[string]bool{}
	for i, g := range f.Tests {
		name := g.Name
		if name == "" {
			name = fmt.Sprintf("tests[%d]", i)
		}
		t.Run(name, func(t *testing.T) {
			for _, c := range g.AlertRuleTest {
				if len(c.ExpAlerts) > 0 {
					fired[c.Alertname] = true
				} else {
					quiet[c.Alertname] = true
				}
			}
			runRuleTestGroup(t, g, ruleFile, every)
		})
	}
	for _, name := range alertNames(t) {
		if !fired[name] {
			t.Errorf("alert %s: no unit test in which it fires", name)
		}
		if !quiet[name] {
			t.Errorf("alert %s: no unit test in which it stays silent", name)
		}
	}
}

// runRuleTestGroup is promtool's testGroup.test for alert_rule_test: load the series, evaluate
// every group at each evaluation interval from 0 to the last eval_time, and at each eval_time
// compare the firing alerts (labels and expanded annotations) with the expected ones.
func runRuleTestGroup(t *testing.T, g ruleTestGroup, ruleFile string, every time.Duration) {
	interval := time.Duration(g.Interval)
	if interval <= 0 {
		interval = every
	}
	var load strings.Builder
	fmt.Fprintf(&load, "load %s\n", model.Duration(interval))
	for _, s := range g.InputSeries {
		fmt.Fprintf(&load, "  %s %s\n", s.Series, s.Values)
	}
	p := parser.NewParser(parser.Options{})
	suite, err := promqltest.NewLazyLoader(load.String(), promqltest.LazyLoaderOpts{
		EnableAtModifier: true, EnableNegativeOffset: true, Parser: p})
	if err != nil {
		t.Fatalf("input_series: %v", err)
	}
	defer func() { _ = suite.Close() }()
	suite.SubqueryInterval = every

	m := rules.NewManager(&rules.ManagerOptions{
		QueryFunc:    rules.EngineQueryFunc(suite.QueryEngine(), suite.Storage()),
		AppendableV2: suite.Storage(),
		Context:      context.Background(),
		NotifyFunc:   func(context.Context, string, ...*rules.Alert) {},
		Logger:       slog.New(slog.DiscardHandler),
		Parser:       p,
	})
	groups, errs := m.LoadGroups(every, labels.EmptyLabels(), "", nil, false, ruleFile)
	if len(errs) > 0 {
		t.Fatalf("%s: %v", ruleFile, errs)
	}
	for _, grp := range groups {
		for _, r := range grp.Rules() {
			if a, ok := r.(*rules.AlertingRule); ok {
				a.SetRestored(true) // as promtool: a fresh rule's alerts fire without a restore
			}
		}
	}

	cases := slices.Clone(g.AlertRuleTest)
	sort.SliceStable(cases, func(i, j int) bool { return cases[i].EvalTime < cases[j].EvalTime })
	if len(cases) == 0 {
		t.Fatal("no alert_rule_test")
	}
	start := time.Unix(0, 0).UTC()
	last := start.Add(time.Duration(cases[len(cases)-1].EvalTime))
	next := 0
	for ts := start; !ts.After(last); ts = ts.Add(every) {
		suite.WithSamplesTill(ts, func(err error) {
			if err != nil {
				t.Fatalf("loading samples till %s: %v", ts.Sub(start), err)
			}
			for _, grp := range groups {
				grp.Eval(suite.Context(), ts)
				for _, r := range grp.Rules() {
					if r.LastError() != nil {
						t.Fatalf("rule %s at %s: %v", r.Name(), ts.Sub(start), r.LastError())
					}
				}
			}
		})
		// A case at eval_time e is checked at the evaluation ts <= e < ts+every (promtool's rule).
		for next < len(cases) && time.Duration(cases[next].EvalTime) < ts.Add(every).Sub(start) {
			c := cases[next]
			next++
			var got []string
			for _, grp := range groups {
				for _, r := range grp.Rules() {
					a, ok := r.(*rules.AlertingRule)
					if !ok || a.Name() != c.Alertname {
						continue
					}
					for _, al := range a.ActiveAlerts() {
						if al.State == rules.StateFiring {
							got = append(got, al.Labels.String()+" "+al.Annotations.String())
						}
					}
				}
			}
			var want []string
			for _, e := range c.ExpAlerts {
				l := map[string]string{labels.AlertName: c.Alertname}
				for k, v := range e.ExpLabels {
					l[k] = v
				}
				want = append(want, labels.FromMap(l).String()+" "+labels.FromMap(e.ExpAnnotations).String())
			}
			sort.Strings(got)
			sort.Strings(want)
			if !slices.Equal(got, want) {
				t.Errorf("%s at %s:\n got  %q\n want %q", c.Alertname, c.EvalTime, got, want)
			}
		}
	}
}

// alertNames lists the alerts of the chart's rule file.
func alertNames(t *testing.T) []string {
	data, err := os.ReadFile(alertsFile)
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Groups []struct {
			Rules []struct {
				Alert string `yaml:"alert"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(data, &f); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, g := range f.Groups {
		for _, r := range g.Rules {
			if r.Alert != "" {
				names = append(names, r.Alert)
			}
		}
	}
	return names
}
