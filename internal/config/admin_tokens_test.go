package config

import (
	"strings"
	"testing"
)

// TestParseAdminTokens: the tokens file is as strict as the config: each mistake names its
// path, line and fix, and never echoes what may be a token.
func TestParseAdminTokens(t *testing.T) {
	const hash = "sha256:c22dcd6b1c1920dd41836a35bb98e8f4ae7741db1ce4f93373b89dc418d3a073"
	got, err := ParseAdminTokens([]byte("tokens:\n  - name: ci\n    role: gateway_admin\n    hash: " + hash + "\n  - {name: dev, role: tenant_developer, tenant: acme, hash: \"" + Hash([]byte("another")) + "\"}\n"))
	if err != nil || len(got) != 2 || got[1].Tenant != "acme" {
		t.Fatalf("valid file: %v %+v", err, got)
	}
	if got, err := ParseAdminTokens([]byte("tokens: []\n")); err != nil || len(got) != 0 {
		t.Errorf("an empty list (every file token revoked): %v %v", err, got)
	}
	const pasted = "kgadm_ton46paLBi8TfRnOhi9YDC3KTEWx0pS9Zfa7_3sRfYY"
	for _, c := range []struct{ name, file, want string }{
		{"a bare list", "- {name: ci, role: gateway_admin, hash: \"" + hash + "\"}\n", "tokens: missing; write the entries under one key"},
		{"empty", "", "tokens: missing"},
		{"unknown key", "tokens:\n  - name: ci\n    rol: gateway_admin\n", "tokens[0].rol"},
		{"wrong type", "tokens: {name: ci}\n", "tokens: a mapping is not a list"},
		{"bad role", "tokens:\n  - {name: ci, role: root, hash: \"" + hash + "\"}\n", `tokens[0].role: "root" is not one of`},
		{"tenant role without tenant", "tokens:\n  - {name: ci, role: tenant_admin, hash: \"" + hash + "\"}\n", "tokens[0].tenant: required for role tenant_admin"},
		{"no name", "tokens:\n  - {role: gateway_admin, hash: \"" + hash + "\"}\n", "tokens[0].name: required"},
		{"the token instead of its hash", "tokens:\n  - {name: ci, role: gateway_admin, hash: " + pasted + "}\n", "tokens[0].hash: want sha256:<64 hex digits>; keygate admin token create prints"},
		{"one token twice", "tokens:\n  - {name: a, role: gateway_admin, hash: \"" + hash + "\"}\n  - {name: b, role: gateway_admin, hash: \"" + hash + "\"}\n", "tokens[1].hash: the same token as tokens[0]"},
		{"the token as the role", "tokens:\n  - {name: ci, role: " + pasted + ", hash: \"" + hash + "\"}\n", "tokens[0].role: the string value (not shown)"},
	} {
		_, err := ParseAdminTokens([]byte(c.file))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want %q", c.name, err, c.want)
			continue
		}
		if strings.Contains(err.Error(), pasted) {
			t.Errorf("%s: the error echoes the token: %v", c.name, err)
		}
	}
	// The line of the field at fault, in the tokens file.
	_, err = ParseAdminTokens([]byte("tokens:\n  - name: ci\n    role: gateway_admin\n    hash: " + hash + "\n  - name: x\n    role: boss\n    hash: " + hash + "\n"))
	if fe := firstFieldError(err); fe == nil || fe.Path != "tokens[1].role" || fe.Line != 6 {
		t.Errorf("placed error: %+v (%v)", fe, err)
	}
}

func firstFieldError(err error) *FieldError {
	for _, e := range Flatten(err) {
		if fe, ok := e.(*FieldError); ok {
			return fe
		}
	}
	return nil
}
