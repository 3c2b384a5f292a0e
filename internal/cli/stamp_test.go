package cli

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestVersionStampedByMakefileAndDockerfile builds keygate with the -ldflags the Makefile's
// build target and the Dockerfile pass, and checks `keygate version -o json` reports the
// version and commit given, and the Envoy API keygate is built with (v3, and the
// go-control-plane module version from the build). A renamed variable or package in either
// file would make the linker drop the stamp silently; this catches it.
func TestVersionStampedByMakefileAndDockerfile(t *testing.T) {
	if testing.Short() {
		t.Skip("builds keygate twice")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go tool")
	}
	const version, commit = "v9.8.7-test", "0123456789abcdef0123456789abcdef01234567"
	xflag := regexp.MustCompile(`-X ([^\s=]+)=(\S+?)["\s]`)
	for _, c := range []struct {
		file string
		vars map[string]string // how the file spells the stamped values
	}{
		{"Makefile", map[string]string{"$(VERSION)": version, "$(COMMIT)": commit}},
		{"Dockerfile", map[string]string{"${VERSION}": version, "${COMMIT}": commit}},
	} {
		t.Run(c.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("..", "..", c.file))
			if err != nil {
				t.Fatal(err)
			}
			var ldflags []string
			for _, m := range xflag.FindAllStringSubmatch(string(data), -1) {
				val, ok := c.vars[m[2]]
				if !ok {
					t.Fatalf("%s: -X %s=%s: a value this test does not know", c.file, m[1], m[2])
				}
				ldflags = append(ldflags, "-X", m[1]+"="+val)
			}
			if len(ldflags) != 4 {
				t.Fatalf("%s stamps %d variables (%v), want Version and Commit", c.file, len(ldflags)/2, ldflags)
			}
			bin := filepath.Join(t.TempDir(), "keygate")
			build := exec.Command(goBin, "build", "-ldflags", strings.Join(ldflags, " "), "-o", bin, "../../cmd/keygate")
			if out, err := build.CombinedOutput(); err != nil {
				t.Fatalf("go build: %v\n%s", err, out)
			}
			out, err := exec.Command(bin, "version", "-o", "json").Output()
			if err != nil {
				t.Fatal(err)
			}
			var v VersionInfo
			if err := json.Unmarshal(out, &v); err != nil {
				t.Fatalf("version -o json: %v\n%s", err, out)
			}
			if v.Version != version || v.Commit != commit || v.EnvoyAPI != "v3" || !strings.HasPrefix(v.ControlGo, "v1.") {
				t.Errorf("%s's stamp: version -o json = %s", c.file, out)
			}
		})
	}
}
