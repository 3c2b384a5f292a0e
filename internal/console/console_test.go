package console

import (
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

func serve(t *testing.T, method, path string) *httptest.ResponseRecorder {
	t.Helper()
	w := httptest.NewRecorder()
	Handler().ServeHTTP(w, httptest.NewRequest(method, path, nil))
	return w
}

// TestHeaders: every answer, a 404 and a 405 included, carries the CSP and its companions.
func TestHeaders(t *testing.T) {
	for _, c := range []struct {
		method, path string
		status       int
		ctype        string
	}{
		{"GET", "/ui/", 200, "text/html; charset=utf-8"},
		{"HEAD", "/ui/", 200, "text/html; charset=utf-8"},
		{"GET", "/ui/js/app.js", 200, "text/javascript; charset=utf-8"},
		{"GET", "/ui/style.css", 200, "text/css; charset=utf-8"},
		{"GET", "/ui", 301, ""},
		{"GET", "/ui/js/", 404, ""},           // no directory listings
		{"GET", "/ui/js", 404, ""},            // a directory is not a file
		{"GET", "/ui/../console.go", 404, ""}, // nothing outside the assets
		{"GET", "/ui/js/../../console.go", 404, ""},
		{"GET", "/ui/nope.js", 404, ""},
		{"GET", "/ui/index.html.bak", 404, ""}, // unknown types are not served
		{"POST", "/ui/", 405, ""},
		{"DELETE", "/ui/js/app.js", 405, ""},
	} {
		w := serve(t, c.method, c.path)
		if w.Code != c.status {
			t.Errorf("%s %s: status %d, want %d", c.method, c.path, w.Code, c.status)
		}
		h := w.Header()
		if h.Get("Content-Security-Policy") != ContentSecurityPolicy || h.Get("X-Content-Type-Options") != "nosniff" ||
			h.Get("Referrer-Policy") != "no-referrer" || h.Get("X-Frame-Options") != "DENY" {
			t.Errorf("%s %s: security headers missing: %v", c.method, c.path, h)
		}
		if c.ctype != "" && h.Get("Content-Type") != c.ctype {
			t.Errorf("%s %s: Content-Type %q, want %q", c.method, c.path, h.Get("Content-Type"), c.ctype)
		}
	}
}

// TestCSPIsStrict: the policy names no unsafe source, no wildcard and no other origin.
func TestCSPIsStrict(t *testing.T) {
	for _, want := range []string{"default-src 'self'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'",
		"object-src 'none'", "base-uri 'none'", "require-trusted-types-for 'script'"} {
		if !strings.Contains(ContentSecurityPolicy, want) {
			t.Errorf("CSP lacks %q", want)
		}
	}
	for _, bad := range []string{"unsafe", "*", "http:", "https:", "data:", "blob:"} {
		if strings.Contains(ContentSecurityPolicy, bad) {
			t.Errorf("CSP allows %q", bad)
		}
	}
}

// TestAssetsHaveNoInlineCode: the HTML has no inline script, style or event handler, and the
// JavaScript builds no markup from strings and evaluates no strings (the CSP would refuse them
// in the browser; this names the line instead).
func TestAssetsHaveNoInlineCode(t *testing.T) {
	root, err := fs.Sub(assets, "assets")
	if err != nil {
		t.Fatal(err)
	}
	htmlBad := regexp.MustCompile(`(?i)<script(?:\s[^>]*)?>\s*[^<\s]|<style|\sstyle\s*=|\son[a-z]+\s*=|javascript:`)
	jsBad := regexp.MustCompile(`innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function|setTimeout\(\s*['"]|localStorage|document\.cookie|\.style\.`)
	err = fs.WalkDir(root, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(root, p)
		if err != nil {
			return err
		}
		re := map[bool]*regexp.Regexp{true: htmlBad, false: jsBad}[strings.HasSuffix(p, ".html")]
		if !strings.HasSuffix(p, ".html") && !strings.HasSuffix(p, ".js") {
			return nil
		}
		for i, line := range strings.Split(string(b), "\n") {
			if m := re.FindString(line); m != "" {
				t.Errorf("%s:%d: %q is not allowed in the console (CSP, no markup from strings, no token storage beside sessionStorage)", p, i+1, m)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestEveryAssetIsServed: each embedded file answers 200 with a known type (a file whose type
// the handler does not know would be a 404 in the browser).
func TestEveryAssetIsServed(t *testing.T) {
	root, _ := fs.Sub(assets, "assets")
	_ = fs.WalkDir(root, ".", func(p string, d fs.DirEntry, _ error) error {
		if d.IsDir() {
			return nil
		}
		if w := serve(t, "GET", Prefix+p); w.Code != http.StatusOK {
			t.Errorf("%s: status %d", p, w.Code)
		}
		return nil
	})
}
