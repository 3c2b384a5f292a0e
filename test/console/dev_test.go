package console

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/keygate/keygate/internal/devstack"
)

// TestDevConsole: what keygate dev offers a newcomer: its single-tenant config (providers name
// no tenant) in the playground with the run's dev login, the demo provider dry-run through the
// gateway admins' by-name route, no demo key on the page.
func TestDevConsole(t *testing.T) {
	s, err := devstack.Start(context.Background(), devstack.Options{Serve: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	browser := newBrowser(t)
	tb := newTab(t, browser, "http://"+s.AdminAddr)
	tb.login(string(s.AdminToken.Reveal()))
	tb.page("#/playground", "#pg-request")
	tb.do("dry run of demo", chromedp.Click(chromedp.ID("pg-run")), chromedp.WaitVisible(chromedp.CSS("#pg-explain pre")))
	out := tb.text("#pg-output")
	if !strings.HasPrefix(out, "POST /v1/orders HTTP/1.1") || !strings.Contains(out, `"appKey":"demo-app"`) {
		t.Fatalf("request that would leave:\n%s", out)
	}
	html := tb.html()
	c := devstack.DemoCredentials
	for _, v := range []string{c.AppSecret, string(c.AESKey), string(c.AESIV)} {
		if strings.Contains(html, v) {
			t.Fatalf("the page holds a demo key (%d bytes)", len(v))
		}
	}
	tb.shot("dev-playground")
	tb.noProblems()
}
