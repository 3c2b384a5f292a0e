package vaulttest_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keygate/keygate/internal/vaulttest"
)

// TestDocsPolicyMatches keeps the copy-pasteable policy in docs/vault.md, and the one the
// docker-compose trial writes (deploy/keygate-policy.hcl), equal to the one the tests run with.
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
	deploy, err := os.ReadFile(filepath.Join("..", "..", "deploy", "keygate-policy.hcl"))
	if err != nil {
		t.Fatal(err)
	}
	if string(deploy) != vaulttest.Policy {
		t.Error("deploy/keygate-policy.hcl is not vaulttest.Policy verbatim")
	}
}
