package e2e

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/keygate/keygate/internal/devstack"
)

const aesLimitConfig = `
keystore: {type: file, file: {path: keys.yaml}}
limits: {max_body_bytes: 1048576}
providers:
  - name: whole
    hosts: [whole.egress.local]
    upstream: {url: "UPSTREAM/api"}
    secrets: {aes_key: "secret/keygate/aes#key", aes_iv: "secret/keygate/aes#iv"}
    signing:
      - {scheme: aes_cbc, key: aes_key, iv: aes_iv}
`

const aesLimitKeys = `
secret/keygate/aes:
  key: e2e-aes-key-16b!
  iv: e2e-aes-iv-16by!
`

// TestEncryptedBodyLimit: through the Envoy emulator, a 1 MiB-limit AES provider forwards the
// largest body docs/limits.md says it accepts (2xx, the upstream gets it), and answers a body
// under 1 MiB that encryption grows past what keygate can hand Envoy with 413 and keygate's JSON
// error naming the limit: not the empty 500 of a failed gRPC send, and nothing reaches the
// upstream.
func TestEncryptedBodyLimit(t *testing.T) {
	doc, err := os.ReadFile("../../docs/limits.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("`whole`[^|]*\\|[^|]*\\| ([0-9,]+) bytes").FindSubmatch(doc)
	if m == nil {
		t.Fatal("docs/limits.md states no largest body for whole")
	}
	largest, _ := strconv.Atoi(strings.ReplaceAll(string(m[1]), ",", ""))
	var seen atomic.Int64
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		seen.Add(1)
		w.Header().Set("X-Received", strconv.FormatInt(n, 10))
		w.WriteHeader(http.StatusNoContent) // no body: nothing to decrypt
	}))
	defer up.Close()
	s := startStack(t, devstack.Options{ConfigDir: configDir(t, aesLimitConfig, up.URL, aesLimitKeys)})
	body := func(n int) string { return `{"data":"` + strings.Repeat("a", n-11) + `"}` }

	status, h, reply := call(t, s, "POST", "whole.egress.local", "/orders", body(largest), map[string]string{"Content-Type": "application/json"})
	if status/100 != 2 || seen.Load() != 1 || h.Get("X-Received") == "" {
		t.Fatalf("the documented largest body (%d bytes): %d %.200s, upstream saw %d requests", largest, status, reply, seen.Load())
	}
	status, _, reply = call(t, s, "POST", "whole.egress.local", "/orders", body(1000000), map[string]string{"Content-Type": "application/json"})
	if st, stage := errorBody(t, reply); status != http.StatusRequestEntityTooLarge || st != 413 || stage != "sign" ||
		!strings.Contains(reply, "limits.max_body_bytes") {
		t.Errorf("a 1,000,000-byte body: %d %.300s, want 413 JSON naming the limit", status, reply)
	}
	if seen.Load() != 1 {
		t.Errorf("the refused body reached the upstream")
	}
}
