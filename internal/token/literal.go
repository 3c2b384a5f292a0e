package token

import (
	"fmt"
	"slices"
	"strings"

	"github.com/keygate/keygate/internal/config"
)

// checkTemplateSecrets refuses, at config load, a template that reads a secret the provider
// does not declare, or that writes a literal value under a name that carries a credential
// (Authorization, client_secret, password, api_key): the value belongs in the keystore and the
// template should say {secret:NAME}. Neither error repeats the value or the name.
func checkTemplateSecrets(path, name string, t template, declared []string) error {
	if declared != nil {
		for _, s := range t.secretNames() {
			if !slices.Contains(declared, s) {
				return fmt.Errorf("%s: a {secret:...} placeholder %s", path, config.UndeclaredSecret(slices.Clone(declared)))
			}
		}
	}
	if credentialName(name) && len(t.secretNames()) == 0 && literalLen(t) >= 8 {
		return fmt.Errorf("%s: a literal value where a credential belongs (not shown); "+
			"keep it in the keystore, declare it under the provider's secrets and write {secret:NAME}", path)
	}
	return nil
}

// credentialName reports whether a header, query or body field name carries a credential.
func credentialName(name string) bool {
	n := strings.ToLower(strings.ReplaceAll(name, "-", "_"))
	for _, w := range []string{"authorization", "secret", "password", "passwd", "api_key", "apikey", "private_key"} {
		if strings.Contains(n, w) {
			return true
		}
	}
	return false
}

func literalLen(t template) int {
	n := 0
	for _, p := range t {
		if p.kind == partText {
			n += len(strings.TrimSpace(strings.TrimPrefix(strings.TrimPrefix(p.text, "Bearer "), "Basic ")))
		}
	}
	return n
}
