package hygiene

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestDesignArticleIsNamedAndLinked: README's "The design article" section names the article
// and links it, and every document that refers to "the article" links that section, so no
// reader meets an unnamed source.
func TestDesignArticleIsNamedAndLinked(t *testing.T) {
	root := filepath.Join("..", "..")
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "\n## The design article\n")
	if !ok {
		t.Fatal(`README.md has no "## The design article" section`)
	}
	section, _, _ = strings.Cut(section, "\n## ")
	if !strings.Contains(section, "Huolala") || !regexp.MustCompile(`\]\(https://[^)\s]+\)`).MatchString(section) {
		t.Errorf("README's design-article section does not name Huolala's article and link it:\n%s", section)
	}
	mentions := regexp.MustCompile(`(?i)\bthe (design )?article\b`)
	docs, _ := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	for _, p := range docs {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if mentions.Match(data) && !strings.Contains(string(data), "(../README.md#the-design-article)") {
			t.Errorf("%s refers to the article without linking README.md#the-design-article", p)
		}
	}
}
