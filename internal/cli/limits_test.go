package cli

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/keygate/keygate/internal/failure"
)

// aesProvider is the dev config's demo provider (aes_cbc on the data field, then simple
// signing), and the same provider encrypting the whole body, with a 1 MiB body limit.
const aesProvider = `limits: {max_body_bytes: 1048576}
keystore: {type: file, file: {path: keys.yaml}}
providers:
  - name: field
    hosts: [field.egress.local]
    upstream: {url: "https://pay.example"}
    secrets: {app_secret: "secret/keygate/demo#app_secret", aes_key: "secret/keygate/demo#aes_key", aes_iv: "secret/keygate/demo#aes_iv"}
    signing:
      - {scheme: aes_cbc, key: aes_key, iv: aes_iv, field: data}
      - {scheme: simple, app_key: demo-app, app_secret: app_secret}
  - name: whole
    hosts: [whole.egress.local]
    upstream: {url: "https://pay.example"}
    secrets: {aes_key: "secret/keygate/demo#aes_key", aes_iv: "secret/keygate/demo#aes_iv"}
    signing:
      - {scheme: aes_cbc, key: aes_key, iv: aes_iv}
`

// TestBodyLimitAfterEncryption: with limits.max_body_bytes 1 MiB, the largest body
// docs/limits.md states for each AES provider is signed, and a body a little larger, still
// under 1 MiB but growing past what keygate can hand Envoy, is refused with 413 (the data plane
// answers it as JSON, extproc.immediateError) naming the limit, not with an empty 500.
func TestBodyLimitAfterEncryption(t *testing.T) {
	dir := t.TempDir()
	keys, err := os.ReadFile("../../examples/dev/keys.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for name, text := range map[string][]byte{"keys.yaml": keys, "keygate.yaml": []byte(aesProvider)} {
		if err := os.WriteFile(filepath.Join(dir, name), text, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	doc, err := os.ReadFile("../../docs/limits.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, provider := range []string{"field", "whole"} {
		m := regexp.MustCompile("`" + provider + "`[^|]*\\|[^|]*\\| ([0-9,]+) bytes").FindSubmatch(doc)
		if m == nil {
			t.Fatalf("docs/limits.md states no largest body for %s", provider)
		}
		largest, _ := strconv.Atoi(strings.ReplaceAll(string(m[1]), ",", ""))
		// The real largest, found by bisection: the docs state it rounded down to a KiB.
		lo, hi := 1<<19, 1<<20 // signs, is refused
		for hi-lo > 1 {
			if mid := (lo + hi) / 2; signBody(t, dir, provider, mid) == nil {
				lo = mid
			} else {
				hi = mid
			}
		}
		t.Logf("%s: the largest body signed is %d bytes", provider, lo)
		if largest > lo || lo-largest >= 1024 {
			t.Errorf("%s: docs/limits.md says %d bytes, the largest body signed is %d: write %d", provider, largest, lo, lo/1024*1024)
		}
		if err := signBody(t, dir, provider, largest); err != nil {
			t.Errorf("%s: the documented largest body (%d bytes) is refused: %v", provider, largest, err)
		}
		err := signBody(t, dir, provider, largest+4096)
		if err == nil || failure.Status(err) != http.StatusRequestEntityTooLarge || !strings.Contains(err.Error(), "limits.max_body_bytes") {
			t.Errorf("%s: a body of %d bytes (past the documented largest): %v, want 413 naming the limit", provider, largest+4096, err)
		}
	}
}

// signBody dry-runs a JSON body of size bytes through provider: {"data":"aaa..."}.
func signBody(t *testing.T, dir, provider string, size int) error {
	t.Helper()
	body := `{"data":"` + strings.Repeat("a", max(size-11, 0)) + `"}`
	req := "POST /orders HTTP/1.1\r\nHost: " + provider + ".egress.local\r\nContent-Type: application/json\r\nContent-Length: " +
		strconv.Itoa(len(body)) + "\r\n\r\n" + body
	var out bytes.Buffer
	root := newRoot(&out, &out)
	root.SetIn(strings.NewReader(req))
	root.SetArgs([]string{"sign", "--config", filepath.Join(dir, "keygate.yaml"), "--provider", provider})
	return root.ExecuteContext(context.Background())
}
