package daemon

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/keygate/keygate/internal/admin"
	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/xds"
)

// TestRedactedDryRunDoesNotDecryptAChosenAnswer: the admin API's dry run takes a provider answer
// pasted by a tenant developer. Decrypting C1||C1||C2||C3 under aes_cbc's fixed IV would answer
// D(C1)^IV and D(C1)^C1, whose XOR with C1 is the IV. A run for a caller who may not see
// secrets refuses to decrypt it; a revealed one, or one for an admin (who may see the IV),
// still does.
func TestRedactedDryRunDoesNotDecryptAChosenAnswer(t *testing.T) {
	const key, iv = "demo-aes-key-16b", "demo-aes-iv-16by"
	dir := t.TempDir()
	keys := filepath.Join(dir, "keys.yaml")
	if err := os.WriteFile(keys, []byte("secret/keygate/demo:\n  aes_key: "+key+"\n  aes_iv: "+iv+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ks := config.Keystore{Type: "file", File: &config.FileStore{Path: keys}}
	a, _ := openApp(t, ks)
	f, err := config.Parse([]byte(`
keystore: {type: file, file: {path: keys.yaml}}
providers:
  - name: pay
    hosts: [pay.egress.local]
    upstream: {url: "https://pay.example"}
    secrets: {aes_key: "secret/keygate/demo#aes_key", aes_iv: "secret/keygate/demo#aes_iv"}
    signing: [{scheme: aes_cbc, key: aes_key, iv: aes_iv}]
`))
	if err != nil {
		t.Fatal(err)
	}
	pub := &publisher{app: a, xds: xds.NewServer(nil), dir: t.TempDir()}
	if err := pub.compile(ctx, f, nil); err != nil {
		t.Fatal(err)
	}
	block, _ := aes.NewCipher([]byte(key))
	real := append([]byte("thirty-two bytes of known text!!"), bytes.Repeat([]byte{16}, 16)...) // padded
	cipher.NewCBCEncrypter(block, []byte(iv)).CryptBlocks(real, real)
	chosen := append(append(append([]byte{}, real[:16]...), real[:16]...), real[16:]...)
	body := base64.StdEncoding.EncodeToString(chosen)
	answer := []byte("HTTP/1.1 200 OK\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body)
	req := []byte("POST /x HTTP/1.1\r\nHost: pay.egress.local\r\nContent-Length: 2\r\n\r\n{}")

	res, err := dryRunner{a}.DryRun(ctx, "", "pay", req, admin.DryRunOptions{Response: answer})
	if err == nil || !strings.Contains(err.Error(), "caller chose") {
		t.Fatalf("a redacted run decrypted a chosen answer: err %v, response %d bytes", err, len(res.Response))
	}
	if res.Response != nil || strings.Contains(err.Error(), iv) {
		t.Fatal("the refusal carried the decryption or the IV")
	}
	res, err = dryRunner{a}.DryRun(ctx, "", "pay", req, admin.DryRunOptions{Response: answer, Reveal: true})
	if err != nil || !bytes.Contains(res.Response, []byte("HTTP/1.1 200")) {
		t.Fatalf("a revealed run: %v", err)
	}
	// A redacted run by a role that may reveal (an admin) learns nothing it could not read.
	res, err = dryRunner{a}.DryRun(ctx, "", "pay", req, admin.DryRunOptions{Response: answer, MayReveal: true})
	if err != nil || !bytes.Contains(res.Response, []byte("HTTP/1.1 200")) {
		t.Fatalf("a redacted run by an admin: %v", err)
	}
}
