package cli

import (
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSignCloudVectors runs each cloud API scheme's published example (test/vectors/<scheme>.json,
// which cites the provider document) through `keygate sign` and checks the published values byte
// for byte; the whole output is a golden file (testdata/sign/<scheme>.http).
func TestSignCloudVectors(t *testing.T) {
	for _, file := range []string{"tc3.json", "acs3.json", "aliyun-rpc.json", "baidu-bce.json", "huawei-apig.json", "volcengine.json", "amap.json", "baidu-map-sn.json"} {
		var v struct {
			Scheme   string `json:"scheme"`
			Source   string `json:"source"`
			Config   string `json:"config"`
			Provider string `json:"provider"`
			Request  string `json:"request"`
			Time     string `json:"time"`
			Nonce    string `json:"nonce"`
			Expect   struct {
				Headers map[string]string `json:"headers"`
				Query   map[string]string `json:"query"`
			} `json:"expect"`
		}
		readVector(t, file, &v)
		t.Run(v.Scheme, func(t *testing.T) {
			args := []string{"sign", "--config", filepath.Join(examplesDir, v.Config), "--provider", v.Provider,
				"--request", filepath.Join(examplesDir, v.Request), "--time", v.Time}
			if v.Nonce != "" {
				args = append(args, "--nonce", v.Nonce)
			}
			out, err := runMain(t, args...)
			if err != nil {
				t.Fatalf("keygate sign: %v", err)
			}
			for name, want := range v.Expect.Headers {
				if line := name + ": " + want + "\r\n"; !strings.Contains(out, line) {
					t.Errorf("output lacks %q\noutput:\n%s", line, out)
				}
			}
			if len(v.Expect.Query) > 0 {
				requestLine, _, _ := strings.Cut(out, "\r\n")
				_, target, _ := strings.Cut(requestLine, " ")
				target, _, _ = strings.Cut(target, " ")
				u, err := url.ParseRequestURI(target)
				if err != nil {
					t.Fatal(err)
				}
				for name, want := range v.Expect.Query {
					if got := u.Query()[name]; len(got) != 1 || got[0] != want {
						t.Errorf("query %s = %q, want %q", name, got, want)
					}
				}
			}
			for _, secret := range cloudVectorSecrets {
				if strings.Contains(out, secret) {
					t.Errorf("dry-run output contains the secret %q", secret)
				}
			}
			golden(t, filepath.Join("testdata", "sign", v.Scheme+".http"), out)
		})
	}
}

// cloudVectorSecrets are the published example secrets of examples/vectors/keys.yaml.
var cloudVectorSecrets = []string{
	"Gu5t9xGARNpq86cd98joQYCN3EXAMPLE", "YourAccessKeySecret", "testsecret",
	"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", "MFyfvK41ba2giqM7Uio6PznpdUKGpownRZlmVmHc",
	"TnpCak5XWXpZV1U0WkRaaE5ERmxaR0ZpTmpjeVkyUXlZek0wTWpJMU1qWQ==", "bbbbb", "yoursk",
}

// Temporary-credential tokens the cloud schemes send (a header, or Aliyun's query parameter,
// percent-encoded) are printed [redacted] by keygate sign, and so is the secret.
func TestSignCloudTokensRedacted(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("keys.yaml", "secret/t:\n  sk: \"secret-key-value\"\n  tok: \"sts/token+value==\"\n")
	provider := func(name, host, step string) string {
		return "  - name: " + name + "\n    hosts: [" + host + "]\n    upstream:\n      url: https://" + host +
			"\n    secrets:\n      sk: secret/t#sk\n      tok: secret/t#tok\n    signing:\n      - " + step + "\n"
	}
	cfg := write("c.yaml", "keystore:\n  type: file\n  file:\n    path: keys.yaml\nproviders:\n"+
		provider("rpc", "ecs.aliyuncs.com", "{scheme: aliyun_rpc, access_key_id: testid, access_key_secret: sk, security_token: tok}")+
		provider("tc", "cvm.tencentcloudapi.com", "{scheme: tc3, secret_id: AKID, secret_key: sk, token: tok}")+
		provider("acs", "ecs.cn-hangzhou.aliyuncs.com", "{scheme: acs3, access_key_id: AK, access_key_secret: sk, security_token: tok}"))
	for provider, req := range map[string]string{
		"rpc": "GET /?Action=DescribeRegions HTTP/1.1\nHost: ecs.aliyuncs.com\n\n",
		"tc":  "POST / HTTP/1.1\nHost: cvm.tencentcloudapi.com\nContent-Type: application/json\nContent-Length: 2\n\n{}",
		"acs": "POST / HTTP/1.1\nHost: ecs.cn-hangzhou.aliyuncs.com\nContent-Length: 2\n\n{}",
	} {
		t.Run(provider, func(t *testing.T) {
			out, err := runMain(t, "sign", "--config", cfg, "--provider", provider, "--request", write(provider+".http", req),
				"--time", "2024-01-01T00:00:00Z", "--nonce", "n")
			if err != nil {
				t.Fatal(err)
			}
			for _, leak := range []string{"sts/token", "sts%2Ftoken", "secret-key-value"} {
				if strings.Contains(out, leak) {
					t.Fatalf("output carries %q:\n%s", leak, out)
				}
			}
			if !strings.Contains(out, "[redacted]") {
				t.Fatalf("token not shown as [redacted]:\n%s", out)
			}
		})
	}
}
