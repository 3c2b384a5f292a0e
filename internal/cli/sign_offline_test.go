package cli

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/keygate/keygate/internal/dryrun"
)

// TestSignSendsNothingWithoutFetchToken: a dry run of a provider with an OAuth2 token source
// makes no network call at all (the token endpoint counts every connection it sees); a
// placeholder, clearly marked, stands in for the token, and a note on stderr says it was not
// fetched. With --fetch-token the token endpoint is called, and the token is printed redacted.
func TestSignSendsNothingWithoutFetchToken(t *testing.T) {
	var calls atomic.Int64
	tokenSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"access_token":"LIVE-TOKEN-0123456789","expires_in":3600}`)
	}))
	defer tokenSrv.Close()
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("keys.yaml", "secret/keygate/pay:\n  client_secret: CLIENT-SECRET-VALUE-42\n")
	cfg := write("keygate.yaml", `keystore: {type: file, file: {path: keys.yaml}}
providers:
  - name: pay
    hosts: [pay.egress.local]
    upstream: {url: "https://pay.example"}
    secrets: {client_secret: "secret/keygate/pay#client_secret"}
    token:
      type: oauth2_client_credentials
      url: `+tokenSrv.URL+`/oauth/token
      params: {client_id: acme, client_secret: client_secret}
    signing:
      - scheme: token
`)
	req := write("req.http", "GET /orders HTTP/1.1\r\nHost: pay.egress.local\r\n\r\n")

	sign := func(extra ...string) (string, string) {
		var out, errOut bytes.Buffer
		args := append([]string{"sign", "--config", cfg, "--provider", "pay", "--request", req}, extra...)
		if err := Main(context.Background(), args, &out, &errOut); err != nil {
			t.Fatalf("keygate sign %v: %v", extra, err)
		}
		return out.String(), errOut.String()
	}
	out, notes := sign()
	if n := calls.Load(); n != 0 {
		t.Fatalf("a dry run without --fetch-token called the token endpoint %d times", n)
	}
	if !strings.Contains(out, "Authorization: Bearer "+dryrun.PlaceholderToken+"\r\n") {
		t.Errorf("the placeholder token is not in the request:\n%s", out)
	}
	if !strings.Contains(notes, "token was not fetched") {
		t.Errorf("stderr does not say the token was not fetched: %q", notes)
	}

	out, _ = sign("--fetch-token")
	if calls.Load() != 1 {
		t.Errorf("--fetch-token: %d token requests, want 1", calls.Load())
	}
	if strings.Contains(out, "LIVE-TOKEN") || !strings.Contains(out, "[redacted]") {
		t.Errorf("--fetch-token: the token is not redacted:\n%s", out)
	}
	if strings.Contains(out, "CLIENT-SECRET") {
		t.Errorf("the client secret is printed:\n%s", out)
	}
}

// TestSignExplain: --explain prints what each step signed (SigV4's canonical request and string
// to sign, simple's sorted string) on stderr, and never a secret: the request on stdout is
// unchanged.
func TestSignExplain(t *testing.T) {
	var out, errOut bytes.Buffer
	err := Main(context.Background(), []string{"sign", "--config", "../../examples/vectors/aws-sigv4.yaml", "--provider", "aws-example",
		"--request", "../../examples/vectors/aws-get-vanilla.http", "--time", "2015-08-30T12:36:00Z", "--explain"}, &out, &errOut)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"canonical request", "host;x-amz-date\n", "string to sign", "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"} {
		if !strings.Contains(errOut.String(), want) {
			t.Errorf("--explain lacks %q:\n%s", want, errOut.String())
		}
	}
	if strings.Contains(out.String(), "canonical") || !strings.Contains(out.String(), "Signature=5fa00fa3") {
		t.Errorf("--explain changed the request output:\n%s", out.String())
	}
	keys, _ := os.ReadFile("../../examples/vectors/keys.yaml")
	for _, line := range strings.Split(string(keys), "\n") {
		if _, v, ok := strings.Cut(line, ": "); ok && len(strings.TrimSpace(v)) >= 16 && strings.Contains(errOut.String(), strings.Trim(strings.TrimSpace(v), `"`)) {
			t.Errorf("--explain prints a secret value of keys.yaml")
		}
	}
}
