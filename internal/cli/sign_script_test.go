package cli

import (
	"bytes"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keygate/keygate/internal/dryrun"

	"github.com/keygate/keygate/examples/demoprovider"
	"github.com/keygate/keygate/internal/devstack"
)

// TestSignRunsScriptsWithPinnedTime: `keygate sign` runs custom mode too (the article's script,
// whose token call goes to a live token endpoint only with --fetch-token), and with --time and
// --nonce pinned the output is the same on every run. The token is printed [redacted].
func TestSignRunsScriptsWithPinnedTime(t *testing.T) {
	provider := demoprovider.New(devstack.DemoCredentials, demoprovider.Options{})
	srv := httptest.NewServer(provider)
	defer srv.Close()
	dir := t.TempDir()
	for _, f := range []string{"dev/keygate.yaml", "dev/keys.yaml", "scripts/article-two-step.js"} {
		b, err := os.ReadFile(filepath.Join("../../examples", f))
		if err != nil {
			t.Fatal(err)
		}
		b = bytes.ReplaceAll(b, []byte("http://"+devstack.DemoProviderAddr), []byte(srv.URL))
		if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(f)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	req := filepath.Join(dir, "req.http")
	raw := "POST /orders HTTP/1.1\r\nHost: demo-script.egress.local\r\nContent-Type: application/json\r\n\r\n" +
		`{"data":"{\"amount\":7}","timestamp":"1700000000"}`
	if err := os.WriteFile(req, []byte(raw), 0o600); err != nil {
		t.Fatal(err)
	}
	run := func(extra ...string) string {
		out, err := runMain(t, append([]string{"sign", "--config", filepath.Join(dir, "dev/keygate.yaml"), "--provider", "demo-script",
			"--request", req, "--time", "2026-01-02T03:04:05Z", "--nonce", "n0nce"}, extra...)...)
		if err != nil {
			t.Fatalf("keygate sign: %v", err)
		}
		return out
	}
	// Without --fetch-token the script finds the placeholder with token_load and sends nothing.
	offline := run()
	if !strings.Contains(offline, "Authorization: "+dryrun.PlaceholderToken+"\r\n") {
		t.Errorf("the offline dry run does not show the placeholder token:\n%s", offline)
	}
	// --explain shows the string the script signed (buildSignStr), without the secret.
	if ex := run("--explain", "-o", "json"); !strings.Contains(ex, "reqBody.buildSignStr()") || !strings.Contains(ex, "timestamp=1700000000") ||
		strings.Contains(ex, devstack.DemoCredentials.AppSecret) {
		t.Errorf("--explain of a script:\n%s", ex)
	}
	if n := provider.Stats.TokensIssued.Load(); n != 0 {
		t.Fatalf("a dry run without --fetch-token made the provider issue %d tokens", n)
	}
	first, second := run("--fetch-token"), run("--fetch-token")
	if first != second {
		t.Errorf("pinned dry runs differ:\n%s\n---\n%s", first, second)
	}
	for _, want := range []string{"POST /v1/secure/orders HTTP/1.1\r\n", "Authorization: [redacted]\r\n", `"sign":"`, `"appKey":"demo-app"`} {
		if !strings.Contains(first, want) {
			t.Errorf("dry run lacks %q:\n%s", want, first)
		}
	}
	if strings.Contains(first, "demo_") { // the demo provider's tokens start with demo_
		t.Error("the token is printed in clear")
	}
	if provider.Stats.TokensIssued.Load() == 0 {
		t.Error("the script did not fetch a token")
	}
}
