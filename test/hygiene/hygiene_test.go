// Package hygiene holds checks over the test suite itself: the suite must pass on any machine,
// beside another run of itself or a `keygate dev`, in a clone with nothing beside it.
package hygiene

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// rules are what no test file may contain. A fixed port collides with another run of the suite
// or a running keygate; a port picked by listening on :0 and closing can be taken before the
// process under test binds it (tests give port 0 and read the bound address back instead, as
// testkit.Process.WaitServing does); a file outside the repository is not in a user's clone.
var rules = []struct {
	why string
	re  *regexp.Regexp
}{
	{"listens on a fixed port", regexp.MustCompile(`Listen\w*\(\s*"tcp[46]?",\s*"[^"]*:[1-9][0-9]*"`)},
	{"serves on a fixed port", regexp.MustCompile(`ListenAndServe\w*\(\s*"[^"]*:[1-9][0-9]*"`)},
	{"configures a fixed listen port", regexp.MustCompile(`\b(ext_proc|xds|admin|egress)\s*:\s*'?"?(127\.0\.0\.1|localhost|0\.0\.0\.0|\[::1?\])?:[1-9][0-9]*`)},
	{"sets a fixed listener address", regexp.MustCompile(`\b\w*(Listen|Egress|ExtProc|XDS|Admin|Provider)Addr\s*[:=]+\s*"[^"]*:[1-9][0-9]*"`)},
	{"picks a port before the process binds it", regexp.MustCompile(`FreeAddr\(`)},
	{"reads a file outside the repository", regexp.MustCompile(`"(\.\./)+shared/|"/work/`)},
}

func TestSuiteIsPortableAndEphemeral(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	self, _ := filepath.Abs("hygiene_test.go")
	checked := 0
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "testdata" || d.Name() == "node_modules") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, "_test.go") || path == self {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		checked++
		for i, line := range strings.Split(string(src), "\n") {
			for _, r := range rules {
				if r.re.MatchString(line) {
					rel, _ := filepath.Rel(root, path)
					t.Errorf("%s:%d %s: %s", rel, i+1, r.why, strings.TrimSpace(line))
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 50 {
		t.Fatalf("checked only %d test files: the walk is broken", checked)
	}
}
