package hygiene

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestArchitectureMapIsComplete: every Go package of the module (a folder with .go files, a
// suite of tests only included, outside testdata and the separate test/deploy module) is named in
// docs/architecture.md's map, as `path`.
func TestArchitectureMapIsComplete(t *testing.T) {
	root := filepath.Join("..", "..")
	doc, err := os.ReadFile(filepath.Join(root, "docs", "architecture.md"))
	if err != nil {
		t.Fatal(err)
	}
	pkgs := map[string]bool{}
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			name := d.Name()
			if rel != "." && (strings.HasPrefix(name, ".") || name == "testdata" || rel == "test/deploy") {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(rel, ".go") {
			pkgs[filepath.ToSlash(filepath.Dir(rel))] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for p := range pkgs {
		if p == "." {
			continue
		}
		if !strings.Contains(string(doc), "`"+p+"`") {
			t.Errorf("package %s is not in docs/architecture.md's map", p)
		}
	}
	if len(pkgs) < 20 {
		t.Fatalf("found %d packages: the walk is broken", len(pkgs))
	}
}
