package console

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromiumPath finds the browser: $KEYGATE_CHROMIUM, else chromium on PATH. A missing browser
// fails the test with how to install it: a console test that skips tests nothing.
func chromiumPath(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("KEYGATE_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("the console's browser tests need Chromium and found none: install it with " +
		"`apt-get install -y chromium` (Debian; .ci/run does this), or set KEYGATE_CHROMIUM to a Chromium binary")
	return ""
}

// newBrowser starts headless Chromium with the flags it needs on a closed network (without
// them it waits on update, sync and QUIC probes) and a fresh profile.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil { // start the browser once; tabs share it
		t.Fatalf("starting Chromium: %v", err)
	}
	return ctx
}

// tab is one browser tab (its own sessionStorage) with its console messages collected.
type tab struct {
	t    *testing.T
	ctx  context.Context
	base string
	mu   sync.Mutex
	msgs []chromedp.ConsoleMessage
}

func newTab(t *testing.T, browser context.Context, base string) *tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser)
	ctx, cancelTimeout := context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(func() { cancelTimeout(); cancel() })
	tb := &tab{t: t, ctx: ctx, base: base}
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("opening a tab: %v", err)
	}
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			tb.mu.Lock()
			tb.msgs = append(tb.msgs, m)
			tb.mu.Unlock()
		}
	}()
	return tb
}

// do runs steps; on failure it says what the page's error line and console held.
func (tb *tab) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, time.Minute)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		tb.t.Fatalf("%s: %v\npage error line: %q\nconsole: %v", what, err, tb.errorLine(), tb.console())
	}
}

func (tb *tab) text(sel string) string {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, time.Minute)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.TextContent(chromedp.CSS(sel)))
	if err != nil {
		tb.t.Fatalf("reading %s: %v", sel, err)
	}
	return s
}

func (tb *tab) html() string {
	tb.t.Helper()
	s, err := chromedp.Run(tb.ctx, chromedp.OuterHTML(chromedp.CSS("html")))
	if err != nil {
		tb.t.Fatalf("reading the page: %v", err)
	}
	return s
}

func (tb *tab) errorLine() string {
	ctx, cancel := context.WithTimeout(tb.ctx, 2*time.Second)
	defer cancel()
	s, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.getElementById('error')||{}).textContent||''`))
	return s
}

func (tb *tab) console() []string {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	var out []string
	for _, m := range tb.msgs {
		out = append(out, m.String())
	}
	return out
}

// problems are console errors and exceptions, CSP violations first among them.
func (tb *tab) problems() []string {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	var out []string
	for _, m := range tb.msgs {
		if m.Type == chromedp.ConsoleError || m.IsException() || strings.Contains(m.Text, "Content Security Policy") {
			out = append(out, m.String())
		}
	}
	return out
}

// login opens the console and logs in with token; it waits for the providers page.
func (tb *tab) login(token string) {
	tb.t.Helper()
	tb.do("open the console and log in",
		chromedp.Navigate(tb.base+"/ui/"),
		chromedp.WaitVisible(chromedp.ID("token")),
		chromedp.SendKeys(chromedp.ID("token"), token),
		chromedp.Click(chromedp.ID("login")),
		chromedp.WaitVisible(chromedp.ID("providers")),
	)
}

// go navigates within the console and waits for sel.
func (tb *tab) page(hash, sel string) {
	tb.t.Helper()
	tb.do("open "+hash, chromedp.Navigate(tb.base+"/ui/"+hash), chromedp.WaitVisible(chromedp.CSS(sel)))
}

// shot saves a screenshot to $KEYGATE_SCREENSHOTS, when set (docs/console.md).
func (tb *tab) shot(name string) {
	dir := os.Getenv("KEYGATE_SCREENSHOTS")
	if dir == "" {
		return
	}
	b, err := chromedp.Run(tb.ctx, chromedp.FullScreenshot(100))
	if err == nil {
		err = errors.Join(os.MkdirAll(dir, 0o755), os.WriteFile(filepath.Join(dir, name+".png"), b, 0o644))
	}
	if err != nil {
		tb.t.Errorf("screenshot %s: %v", name, err)
	}
}

func (tb *tab) noProblems() {
	tb.t.Helper()
	if p := tb.problems(); len(p) > 0 {
		tb.t.Fatalf("the console logged errors (CSP violations or exceptions):\n%s", strings.Join(p, "\n"))
	}
}

func (tb *tab) noLeak(where string) {
	tb.t.Helper()
	if l := leaked(tb.html()); l != "" {
		tb.t.Fatalf("%s: the page holds secret %s", where, l)
	}
}
