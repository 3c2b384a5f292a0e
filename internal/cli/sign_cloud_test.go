package cli

import (
	"net/url"
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
