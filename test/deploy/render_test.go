package deploy

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"helm.sh/helm/v4/pkg/chart/common"
	"helm.sh/helm/v4/pkg/chart/common/util"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	"helm.sh/helm/v4/pkg/engine"
)

var update = flag.Bool("update", false, "rewrite testdata/golden from the rendered chart")

const chartDir = "../../deploy/helm/keygate"

// doc is one rendered object: the template it came from and its YAML.
type doc struct {
	source string
	yaml   []byte
}

// render renders the chart as `helm template` does, for a release "kg" in namespace "egress",
// on a cluster whose API versions include extra (say the Prometheus Operator's CRDs).
func render(t *testing.T, valuesFile string, extra ...string) []doc {
	t.Helper()
	ch, err := loader.LoadDir(chartDir)
	if err != nil {
		t.Fatalf("load chart: %v", err)
	}
	vals := map[string]any{}
	if valuesFile != "" {
		vals, err = common.ReadValuesFile(valuesFile)
		if err != nil {
			t.Fatalf("%s: %v", valuesFile, err)
		}
	}
	caps := common.DefaultCapabilities.Copy()
	caps.APIVersions = append(append(common.VersionSet{}, caps.APIVersions...), extra...)
	rv, err := util.ToRenderValues(ch, vals, common.ReleaseOptions{Name: "kg", Namespace: "egress", IsInstall: true}, caps)
	if err != nil {
		t.Fatalf("values: %v", err)
	}
	out, err := engine.Render(ch, rv)
	if err != nil {
		t.Fatalf("render %s: %v", valuesFile, err)
	}
	names := make([]string, 0, len(out))
	for n := range out {
		names = append(names, n)
	}
	sort.Strings(names)
	var docs []doc
	sep := regexp.MustCompile(`(?m)^---\s*$`)
	for _, n := range names {
		if !strings.HasSuffix(n, ".yaml") {
			continue // _helpers.tpl, NOTES.txt
		}
		for _, part := range sep.Split(out[n], -1) {
			if strings.TrimSpace(stripComments(part)) == "" {
				continue
			}
			docs = append(docs, doc{source: strings.TrimPrefix(n, "keygate/"), yaml: []byte(part)})
		}
	}
	if len(docs) == 0 {
		t.Fatalf("%s rendered no object", valuesFile)
	}
	return docs
}

func stripComments(s string) string {
	var b strings.Builder
	for _, l := range strings.Split(s, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "#") {
			b.WriteString(l + "\n")
		}
	}
	return b.String()
}

// monitoringCRDs are the API versions a cluster with the Prometheus Operator has.
var monitoringCRDs = []string{"monitoring.coreos.com/v1", "monitoring.coreos.com/v1/ServiceMonitor", "monitoring.coreos.com/v1/PrometheusRule"}

// ciValues are the chart's CI values files, one render each.
func ciValues(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(chartDir, "ci", "*-values.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no values files in %s/ci: %v", chartDir, err)
	}
	return files
}

// TestChartRenders renders every CI values file (on a cluster with the Prometheus Operator),
// checks every object and compares the whole render with testdata/golden/<values>.yaml
// (`go test ./... -run TestChartRenders -update` rewrites them).
func TestChartRenders(t *testing.T) {
	for _, vf := range ciValues(t) {
		name := strings.TrimSuffix(filepath.Base(vf), "-values.yaml")
		t.Run(name, func(t *testing.T) {
			docs := render(t, vf, monitoringCRDs...)
			var all bytes.Buffer
			kinds := map[string]int{}
			for _, d := range docs {
				kind := checkObject(t, d)
				kinds[kind]++
				all.WriteString("# Source: " + d.source + "\n---" + string(d.yaml) + "\n")
			}
			checkShape(t, name, kinds)
			golden := filepath.Join("testdata", "golden", name+".yaml")
			if *update {
				if err := os.WriteFile(golden, all.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run: go test ./... -run TestChartRenders -update)", err)
			}
			if !bytes.Equal(want, all.Bytes()) {
				t.Errorf("render of %s differs from %s (run with -update and review the diff)", vf, golden)
			}
		})
	}
}

// checkShape: what every install must have, whatever the values.
func checkShape(t *testing.T, name string, kinds map[string]int) {
	t.Helper()
	want := map[string]int{"Deployment": 2, "PodDisruptionBudget": 2, "NetworkPolicy": 1, "ServiceMonitor": 1, "PrometheusRule": 1}
	if name == "istio" {
		want = map[string]int{"Deployment": 1, "PodDisruptionBudget": 1, "NetworkPolicy": 1, "EnvoyFilter": 1, "AuthorizationPolicy": 1}
	}
	for k, n := range want {
		if kinds[k] < n {
			t.Errorf("%s: %d %s, want at least %d", name, kinds[k], k, n)
		}
	}
}

// TestNoServiceMonitorWithoutCRDs: on a cluster without the Prometheus Operator the chart
// renders no monitoring.coreos.com object (the install would fail on an unknown kind).
func TestNoServiceMonitorWithoutCRDs(t *testing.T) {
	for _, d := range render(t, filepath.Join(chartDir, "ci", "default-values.yaml")) {
		if bytes.Contains(d.yaml, []byte("monitoring.coreos.com")) {
			t.Fatalf("%s renders a Prometheus Operator object without its CRDs", d.source)
		}
	}
}
