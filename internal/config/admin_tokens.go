package config

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"

	"sigs.k8s.io/yaml"
)

// adminTokensHint says where a token line comes from; the token itself never goes in a file
// keygate reads.
const adminTokensHint = "keygate admin token create prints a token and the hash to write here; the token itself never goes in the config"

// validateAdminTokens checks admin token entries under path (admin.tokens, or the tokens file's
// list): a known role, a tenant for the tenant roles, a sha256 hash.
func validateAdminTokens(path string, tokens []AdminToken) []error {
	var errs []error
	seen := map[string]int{}
	for i, t := range tokens {
		p := fmt.Sprintf("%s[%d]", path, i)
		if j, dup := seen[strings.ToLower(t.Hash)]; dup && t.Hash != "" {
			errs = append(errs, Hinted(p+".hash", "make one token per principal", "the same token as %s[%d]", path, j))
		}
		seen[strings.ToLower(t.Hash)] = i
		if t.Name == "" {
			errs = append(errs, Hinted(p+".name", "the name appears in the audit log as the actor", "required"))
		}
		switch t.Role {
		case "gateway_admin":
		case "tenant_admin", "tenant_developer":
			if t.Tenant == "" {
				errs = append(errs, Errorf(p+".tenant", "required for role %s", t.Role))
			}
		default:
			// describeValue: a token pasted into the wrong field is not echoed.
			errs = append(errs, Errorf(p+".role", "%s is not one of gateway_admin, tenant_admin, tenant_developer", describeValue("role", t.Role)))
		}
		if _, err := ParseHash(t.Hash); err != nil {
			errs = append(errs, Hinted(p+".hash", adminTokensHint, "%v", err))
		}
	}
	return errs
}

// AdminTokensFile is the content of admin.tokens_file: the lines `keygate admin token create`
// prints, under one key.
//
//	tokens:
//	  - name: ci
//	    role: gateway_admin
//	    hash: sha256:...
type AdminTokensFile struct {
	Tokens []AdminToken `json:"tokens"`
}

// ParseAdminTokens decodes and validates an admin tokens file as strictly as a config: an
// unknown key, a wrong type, a bad role or hash is an error naming its path (tokens[1].role)
// and line. An empty list is valid (every file token revoked).
func ParseAdminTokens(data []byte) ([]AdminToken, error) {
	if err := CheckAliases(data); err != nil {
		return nil, err
	}
	js, err := yaml.YAMLToJSON(data)
	if err != nil {
		return nil, fmt.Errorf("not valid YAML: %w", err)
	}
	if t := bytes.TrimSpace(js); bytes.Equal(t, []byte("null")) || len(t) == 0 || t[0] != '{' {
		return nil, Hinted("tokens", "write the entries under one key, tokens:, as the config's admin.tokens", "missing")
	}
	var f AdminTokensFile
	if err := decodeStrict(data, js, &f, ""); err != nil {
		return nil, err
	}
	if errs := validateAdminTokens("tokens", f.Tokens); len(errs) > 0 {
		return nil, Annotate(errors.Join(errs...), data)
	}
	return f.Tokens, nil
}

// ReadAdminTokensFile reads and parses admin.tokens_file; it returns the content read too (the
// watcher compares its hash). Its error is AdminTokensFileError's.
func ReadAdminTokensFile(path string) ([]AdminToken, []byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, Errorf("admin.tokens_file", "cannot read %s: %v", path, errors.Unwrap(err))
	}
	tokens, err := ParseAdminTokens(data)
	if err != nil {
		return nil, data, AdminTokensFileError(path, err)
	}
	return tokens, data, nil
}

// AdminTokensFileError is a ParseAdminTokens error as one FieldError at admin.tokens_file,
// naming the file and each problem's line in it.
func AdminTokensFileError(path string, err error) error {
	var msgs []string
	for _, e := range Flatten(err) {
		var fe *FieldError
		if errors.As(e, &fe) && fe.Line > 0 {
			msgs = append(msgs, fmt.Sprintf("line %d: %s", fe.Line, fe.Error()))
			continue
		}
		msgs = append(msgs, e.Error())
	}
	return Errorf("admin.tokens_file", "%s: %s", path, strings.Join(msgs, "; "))
}
