package cli

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files")

const examplesDir = "../../examples/vectors"

func readVector(t *testing.T, name string, v any) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("../../test/vectors", name))
	if err != nil {
		t.Fatalf("test vectors missing: %v", err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatal(err)
	}
}

func runMain(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := Main(context.Background(), args, &out, &errOut)
	return out.String(), err
}

// TestSignVectors runs the published vectors through `keygate sign` itself, the command users
// run, and compares the signature headers byte for byte; the whole output is a golden file.
func TestSignVectors(t *testing.T) {
	var aws struct {
		Time  string `json:"time"`
		Cases []struct {
			Name          string `json:"name"`
			Authorization string `json:"authorization"`
		} `json:"cases"`
	}
	readVector(t, "aws-sigv4.json", &aws)
	var rfc struct {
		Created        int64  `json:"created"`
		SignatureInput string `json:"signature_input"`
		Signature      string `json:"signature"`
	}
	readVector(t, "rfc9421-hmac.json", &rfc)

	type check struct{ header, want string }
	tests := []struct {
		name     string
		args     []string
		checks   []check
		noSecret string
	}{
		{name: "rfc9421-b25",
			args: []string{"--config", "rfc9421.yaml", "--provider", "rfc9421-example", "--request", "rfc9421-b25.http",
				"--time", "2021-04-20T02:07:53Z"},
			checks: []check{{"Signature-Input", rfc.SignatureInput}, {"Signature", rfc.Signature}}},
	}
	for _, c := range aws.Cases {
		tests = append(tests, struct {
			name     string
			args     []string
			checks   []check
			noSecret string
		}{name: "aws-" + c.Name,
			args: []string{"--config", "aws-sigv4.yaml", "--provider", "aws-example", "--request", "aws-" + c.Name + ".http",
				"--time", aws.Time},
			checks:   []check{{"Authorization", c.Authorization}},
			noSecret: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := []string{"sign"}
			for i, a := range tt.args {
				if i > 0 && (tt.args[i-1] == "--config" || tt.args[i-1] == "--request") {
					a = filepath.Join(examplesDir, a)
				}
				args = append(args, a)
			}
			out, err := runMain(t, args...)
			if err != nil {
				t.Fatalf("keygate sign: %v", err)
			}
			for _, c := range tt.checks {
				if line := c.header + ": " + c.want + "\r\n"; !strings.Contains(out, line) {
					t.Errorf("output lacks %q\noutput:\n%s", line, out)
				}
			}
			if tt.noSecret != "" && strings.Contains(out, tt.noSecret) {
				t.Error("dry-run output contains a secret value")
			}
			golden(t, filepath.Join("testdata", "sign", tt.name+".http"), out)
		})
	}
}

func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("golden file missing (run go test -update): %v", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s\n got:\n%s\nwant:\n%s", path, got, want)
	}
}

func TestSignErrorsNameWhatIsWrong(t *testing.T) {
	cfg := filepath.Join(examplesDir, "aws-sigv4.yaml")
	req := filepath.Join(examplesDir, "aws-get-vanilla.http")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown provider", []string{"sign", "--config", cfg, "--provider", "nope", "--request", req}, `"nope" is not in the config`},
		{"bad time", []string{"sign", "--config", cfg, "--provider", "aws-example", "--request", req, "--time", "yesterday"}, "RFC 3339"},
		{"missing config", []string{"sign", "--config", "/nonexistent.yaml", "--provider", "x"}, "nonexistent.yaml"},
		{"not http", []string{"sign", "--config", cfg, "--provider", "aws-example", "--request", cfg}, "not raw HTTP/1.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := runMain(t, tt.args...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v, want it to mention %q", err, tt.want)
			}
		})
	}
}

// TestSignProcessesResponse: with --response, `keygate sign` also runs response processing (here
// the demo provider's AES-CBC field) on a raw HTTP/1.1 response and prints the result.
func TestSignProcessesResponse(t *testing.T) {
	dir := t.TempDir()
	req := filepath.Join(dir, "req.http")
	resp := filepath.Join(dir, "resp.http")
	body := `{"data":"{\"amount\":1}","timestamp":"1700000000"}`
	mustWrite(t, req, "POST /orders HTTP/1.1\r\nHost: demo.egress.local\r\nContent-Type: application/json\r\n\r\n"+body)
	// {"ok":true} encrypted with the demo key and IV (what the demo provider would answer).
	answer := `{"code":0,"data":"` + demoEncrypt(t, `{"ok":true}`) + `"}`
	mustWrite(t, resp, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "+strconv.Itoa(len(answer))+"\r\n\r\n"+answer)
	out, err := runMain(t, "sign", "--config", "../../examples/dev/keygate.yaml", "--provider", "demo",
		"--request", req, "--response", resp, "--time", "2026-01-02T03:04:05Z")
	if err != nil {
		t.Fatalf("keygate sign --response: %v", err)
	}
	_, response, ok := strings.Cut(out, "}\r\nHTTP/1.1 200 OK\r\n")
	if !ok {
		t.Fatalf("no processed response in the output:\n%s", out)
	}
	if !strings.HasSuffix(response, `{"code":0,"data":{"ok":true}}`) {
		t.Errorf("response data not decrypted:\n%s", response)
	}
	if strings.Contains(out, "demo-app-secret") {
		t.Error("dry run printed the AppSecret")
	}
}

func mustWrite(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
}

func demoEncrypt(t *testing.T, plain string) string {
	t.Helper()
	block, err := aes.NewCipher([]byte("demo-aes-key-16b"))
	if err != nil {
		t.Fatal(err)
	}
	n := aes.BlockSize - len(plain)%aes.BlockSize
	padded := append([]byte(plain), bytes.Repeat([]byte{byte(n)}, n)...)
	cipher.NewCBCEncrypter(block, []byte("demo-aes-iv-16by")).CryptBlocks(padded, padded)
	return base64.StdEncoding.EncodeToString(padded)
}
