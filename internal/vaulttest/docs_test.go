package vaulttest_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keygate/keygate/internal/vaulttest"
)

// TestDocsPolicyMatches keeps the copy-pasteable policy in docs/vault.md, the one the
// docker-compose trial writes (deploy/keygate-policy.hcl) and the Helm chart's
// (deploy/helm/keygate/files/vault-policy.hcl) equal to the one the tests run with.
func TestDocsPolicyMatches(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "vault.md"))
	if err != nil {
		t.Fatal(err)
	}
	for name, p := range map[string]string{"Policy": vaulttest.Policy, "AdminPolicy": vaulttest.AdminPolicy, "TenantPolicy": vaulttest.TenantPolicy} {
		if !strings.Contains(string(doc), "```hcl\n"+p+"```") {
			t.Errorf("docs/vault.md does not contain vaulttest.%s verbatim", name)
		}
	}
	for _, path := range []string{"deploy/keygate-policy.hcl", "deploy/helm/keygate/files/vault-policy.hcl"} {
		deploy, err := os.ReadFile(filepath.Join("..", "..", filepath.FromSlash(path)))
		if err != nil {
			t.Fatal(err)
		}
		if string(deploy) != vaulttest.Policy {
			t.Errorf("%s is not vaulttest.Policy verbatim", path)
		}
	}
}
