package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCheckNamesFieldAndRule: `keygate check` refuses each malformed secret reference and host
// entry, naming the field path and the rule broken.
func TestCheckNamesFieldAndRule(t *testing.T) {
	for _, tc := range []struct{ secret, host, want string }{
		{"secret/keygate/tenants/alpha/../beta/x#api_key", "a.egress.local",
			`providers[0].secrets.key: secret reference "secret/keygate/tenants/alpha/../beta/x#api_key": path segment 4 is "..": dot segments are not allowed`},
		{"secret/keygate/%2e%2e/x#k", "a.egress.local", `providers[0].secrets.key: secret reference "secret/keygate/%2e%2e/x#k": path segment 2 has '%': percent escapes are not allowed`},
		{"secret/keygate//x#k", "a.egress.local", "providers[0].secrets.key: secret reference \"secret/keygate//x#k\": path segment 2 is empty"},
		{`secret/keygate\\x#k`, "a.egress.local", "providers[0].secrets.key: secret reference \"secret/keygate\\\\x#k\": path segment 1 has a backslash"},
		{"secret/keygate/x#k", "*", `providers[0].hosts[0]: host "*" has a wildcard`},
		{"secret/keygate/x#k", "beta.egress.local:1", `providers[0].hosts[0]: host "beta.egress.local:1" has a port`},
		{"secret/keygate/x#k", "Pay.Internal", `providers[0].hosts[0]: host "Pay.Internal" must be lower case`},
	} {
		p := filepath.Join(t.TempDir(), "keygate.yaml")
		cfg := "providers:\n  - name: pay\n    hosts: [\"" + tc.host + "\"]\n    upstream: {url: \"https://a.example\"}\n" +
			"    secrets: {key: \"" + tc.secret + "\"}\n"
		if err := os.WriteFile(p, []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
		cmd := newCheckCmd()
		var out bytes.Buffer
		cmd.SetOut(&out)
		cmd.SetErr(&out)
		cmd.SetArgs([]string{"--config", p})
		err := cmd.Execute()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("check of secret %q host %q: got %v, want %q", tc.secret, tc.host, err, tc.want)
		}
	}
}
