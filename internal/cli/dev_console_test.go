package cli

import (
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/keygate/keygate/internal/console"
	"github.com/keygate/keygate/internal/devstack"
)

// TestDevBannerPrintsConsole: keygate dev's banner names the console's URL and its dev login
// (the run's token), and both work: the URL serves the console with its CSP, and the token
// logs in to the admin API the console calls.
func TestDevBannerPrintsConsole(t *testing.T) {
	s, err := devstack.Start(context.Background(), devstack.Options{Serve: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	var b strings.Builder
	printDevBanner(&b, s)
	banner := b.String()
	url := regexp.MustCompile(`console +(http://\S+/ui/)`).FindStringSubmatch(banner)
	tok := regexp.MustCompile(`KEYGATE_TOKEN=(\S+)`).FindStringSubmatch(banner)
	if url == nil || tok == nil || !strings.Contains(banner, "console's dev login") {
		t.Fatalf("the banner lacks the console URL or its login:\n%s", banner)
	}
	resp, err := http.Get(url[1])
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Security-Policy") != console.ContentSecurityPolicy ||
		!strings.Contains(string(page), "keygate console") {
		t.Fatalf("%s: %d %v", url[1], resp.StatusCode, resp.Header)
	}
	req, _ := http.NewRequest("GET", strings.TrimSuffix(url[1], "/ui/")+"/v1/whoami", nil)
	req.Header.Set("Authorization", "Bearer "+tok[1])
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("the dev login is refused: %d", resp.StatusCode)
	}
}
