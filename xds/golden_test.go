package xds

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/keygate/keygate/envoy/envoyconfig"
	"github.com/keygate/keygate/internal/config"
)

var update = flag.Bool("update", false, "rewrite testdata/golden from the generated resources")

// goldenInputs are this package's own configs plus every example config in the repository.
func goldenInputs(t *testing.T) map[string]string {
	t.Helper()
	inputs := map[string]string{}
	for prefix, glob := range map[string]string{
		"":                    "testdata/configs/*.yaml",
		"examples-":           "../examples/*.yaml",
		"examples-vectors-":   "../examples/vectors/*.yaml",
		"examples-dev-":       "../examples/dev/*.yaml",
		"examples-callbacks-": "../examples/callbacks/*.yaml",
		"examples-sdks-":      "../examples/sdks/*.yaml",
		"deploy-":             "../deploy/*.yaml",
	} {
		files, err := filepath.Glob(glob)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			inputs[prefix+strings.TrimSuffix(filepath.Base(f), ".yaml")] = f
		}
	}
	return inputs
}

// TestGolden generates the resources of every config and compares them with
// testdata/golden/<name>.json; `go test ./xds -run TestGolden -update` rewrites them.
func TestGolden(t *testing.T) {
	for name, path := range goldenInputs(t) {
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !isKeygateConfig(data) {
				t.Skipf("%s has no providers key: not a keygate config", path)
			}
			f, err := config.Parse(data)
			if err != nil {
				t.Fatalf("parse %s: %v", path, err)
			}
			if err := f.Validate(); err != nil {
				t.Fatalf("validate %s: %v", path, err)
			}
			// As keygate serve does: Envoy's side of ext_proc follows the listener's listen.tls.
			r, err := Build(f, Options{ExtProcTLS: f.Listen.TLS, ExtProcAddress: f.Listen.ExtProcAdvertise})
			if err != nil {
				t.Fatalf("build %s: %v", path, err)
			}
			// Build checks values; here every resource also passes the full check, which
			// rejects deprecated fields anywhere (a property of this package's code).
			for _, m := range append(append(append(messages(r.Listeners), messages(r.Routes)...), messages(r.Clusters)...), messages(r.Secrets)...) {
				if err := envoyconfig.ValidateResource(m); err != nil {
					t.Errorf("generated resource fails Envoy's protos: %v", err)
				}
			}
			got, err := r.JSON()
			if err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", "golden", name+".json")
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run: go test ./xds -run TestGolden -update)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs from %s at line %d (run: go test ./xds -run TestGolden -update, then review the diff)",
					path, golden, firstDiffLine(got, want))
			}
		})
	}
}

func isKeygateConfig(data []byte) bool {
	var top map[string]any
	if err := yaml.Unmarshal(data, &top); err != nil {
		return true // let config.Parse report it
	}
	_, ok := top["providers"]
	return ok
}

func firstDiffLine(a, b []byte) int {
	la, lb := bytes.Split(a, []byte("\n")), bytes.Split(b, []byte("\n"))
	for i := 0; i < len(la) && i < len(lb); i++ {
		if !bytes.Equal(la[i], lb[i]) {
			return i + 1
		}
	}
	return min(len(la), len(lb)) + 1
}
