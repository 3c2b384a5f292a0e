package cli

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSignHostileScriptRevealsNoKey: a hostile script's dry run, even with --reveal, prints no
// key, IV, app secret or derived key in any simple encoding: every attack of issue 13 fails the
// run with an error that names the rule, not the value. The allowed outputs (a signature, a
// ciphertext) print.
func TestSignHostileScriptRevealsNoKey(t *testing.T) {
	secrets := map[string]string{"app_secret": "hostile-app-secret-42", "aes_key": "k3y-16-bytes-abc", "aes_iv": "iv-16-bytes-xyz!", "tc3": "tc3-secret-key-0815"}
	dir := t.TempDir()
	keys := "secret/keygate/h:\n"
	for k, v := range secrets {
		keys += "  " + k + ": " + v + "\n"
	}
	if err := os.WriteFile(filepath.Join(dir, "keys.yaml"), []byte(keys), 0o600); err != nil {
		t.Fatal(err)
	}
	req := filepath.Join(dir, "req.http")
	if err := os.WriteFile(req, []byte("POST /pay HTTP/1.1\r\nHost: h.egress.local\r\nContent-Type: application/json\r\n\r\n{\"data\":\"x\"}"), 0o600); err != nil {
		t.Fatal(err)
	}
	head := "function (reqHeaders, reqParams, reqBody, AppKey, AesKey, AesIV) {\n  var loot = '';\n"
	tail := "\n  reqHeaders.set('X-Loot', String(loot)); reqBody.set('loot', String(loot));\n}"
	for _, tc := range []struct{ name, body, err string }{
		{"chosen ciphertext", `var e = new Uint8Array(aes_cbc_pkcs5_encrypt(AesKey, new Uint8Array(32), AesIV));
  var c = new Uint8Array(64); c.set(e, 16); try { loot = aes_cbc_pkcs5_decrypt(AesKey, c, AesIV) } catch (x) { loot = x }`,
			"decrypting under a secret IV is only for the provider's response"},
		{"padding oracle", `try { aes_cbc_pkcs5_decrypt(AesKey, new Uint8Array(16), new Uint8Array(16)) } catch (x) { loot = 'caught' }`, "bad padding"},
		{"iv as key", `try { loot = hex_encode(aes_cbc_pkcs5_encrypt(AesIV + AesIV, new Uint8Array(16), AesKey)) } catch (x) { loot = x }`,
			"the key does not take secret aes_iv (role iv)"},
		{"secret nonce", `try { loot = hex_encode(aes_gcm_encrypt('0123456789abcdef', 'a', secret('app_secret'))) } catch (x) { loot = x }`,
			"the IV does not take secret app_secret (role sign_string)"},
		{"chain key", `try { loot = hmac_sha256('TC3' + secret('tc3'), '2026-01-02') } catch (x) { loot = x }`, "secret value reached header X-Loot"},
		{"reversed encoding", `try { loot = hex_encode(reqBody.buildSignStr()).split('').reverse().join('') } catch (x) { loot = x }`, "secret value reached"},
		{"allowed outputs", `loot = sha256(reqBody.buildSignStr()) + base64_encode(aes_cbc_pkcs5_encrypt(AesKey, 'x', AesIV))`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := `keystore: {type: file, file: {path: keys.yaml}}
providers:
  - name: h
    hosts: [h.egress.local]
    upstream: {url: "http://127.0.0.1:9/v1"}
    secrets: {app_secret: "secret/keygate/h#app_secret", aes_key: "secret/keygate/h#aes_key", aes_iv: "secret/keygate/h#aes_iv", tc3: "secret/keygate/h#tc3"}
    script:
      secrets: {tc3: {role: hmac_key, chain: 4}}
      inline: |
` + indent(head+tc.body+tail, "        ")
			path := filepath.Join(dir, tc.name+".yaml")
			if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
				t.Fatal(err)
			}
			out, err := runMain(t, "sign", "--config", path, "--provider", "h", "--request", req, "--reveal", "--time", "2026-01-02T03:04:05Z")
			text := out
			if err != nil {
				text += err.Error()
			}
			switch {
			case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
				t.Fatalf("err = %v, want one naming %q", err, tc.err)
			case tc.err == "" && (err != nil || !strings.Contains(out, "X-Loot: ")):
				t.Fatalf("err = %v, or no X-Loot header", err)
			}
			for name, v := range secrets {
				for _, f := range []string{v, hex.EncodeToString([]byte(v)), base64.StdEncoding.EncodeToString([]byte(v)), reverse(v), reverse(hex.EncodeToString([]byte(v)))} {
					if strings.Contains(text, f) {
						t.Fatalf("the dry run printed a form of %s (value withheld)", name)
					}
				}
			}
			if bytes.ContainsRune([]byte(text), '\uE000') {
				t.Fatal("the dry run printed a marker")
			}
		})
	}
}

func indent(s, prefix string) string {
	return prefix + strings.ReplaceAll(s, "\n", "\n"+prefix) + "\n"
}

func reverse(s string) string {
	r := []byte(s)
	for i, j := 0, len(r)-1; i < j; i, j = i+1, j-1 {
		r[i], r[j] = r[j], r[i]
	}
	return string(r)
}
