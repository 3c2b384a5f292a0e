package config

import (
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"

	"github.com/keygate/keygate/internal/routing"
)

// FieldError is a config error at a field path. Msg says what is wrong and never holds a
// secret value; Hint, when set, says what to write instead. Line and Col are where the field is
// written (1-based; 0 when unknown: Annotate fills them from the file).
type FieldError struct {
	Path      string
	Msg       string
	Hint      string
	Line, Col int
}

func (e *FieldError) Error() string {
	s := e.Msg
	if e.Path != "" {
		s = e.Path + ": " + s
	}
	if e.Hint != "" {
		s += "; " + e.Hint
	}
	return s
}

// Hinted is Errorf with a hint: what to write instead.
func Hinted(path, hint, format string, args ...any) error {
	return &FieldError{Path: path, Msg: fmt.Sprintf(format, args...), Hint: hint}
}

// Errorf builds a FieldError; compile stages use it too so every config error names its field.
func Errorf(path, format string, args ...any) error {
	return &FieldError{Path: path, Msg: fmt.Sprintf(format, args...)}
}

// Validate checks what can be checked without compiling: required fields, references between
// tenants and providers, URLs, secret references, unique names and hosts. It has no side
// effects. All problems are returned together (errors.Join), each naming its field path.
func (f *File) Validate() error {
	var errs []error
	add := func(path, format string, args ...any) { errs = append(errs, Errorf(path, format, args...)) }

	switch f.Keystore.Type {
	case "", "file":
		if f.Keystore.Vault != nil {
			add("keystore.vault", "set, but keystore.type is not vault")
		}
	case "vault":
		if f.Keystore.Vault == nil || f.Keystore.Vault.Address == "" {
			add("keystore.vault.address", "required when keystore.type is vault")
		} else if m := f.Keystore.Vault.Auth.Method; !validAuthMethod(m) {
			add("keystore.vault.auth.method", "%q is not one of token, approle, jwt, kubernetes", m)
		}
		if f.Keystore.Vault != nil {
			for t, a := range f.Keystore.Vault.Tenants {
				if !validAuthMethod(a.Method) {
					add("keystore.vault.tenants."+t+".method", "%q is not one of token, approle, jwt, kubernetes", a.Method)
				}
			}
		}
	default:
		add("keystore.type", "%q is not one of file, vault", f.Keystore.Type)
	}
	if f.State.SharedInVault && f.Keystore.Type != "vault" {
		add("state.shared_in_vault", "requires keystore.type vault")
	}
	errs = append(errs, validateAdminTokens("admin.tokens", f.Admin.Tokens)...)
	if j := f.Admin.JWT; j != nil {
		validateAdminJWT(j, add)
	}
	validateListen(f.Listen, add)
	validateEgress(f.Egress, add)
	if f.Limits.MaxBodyBytes < 0 {
		add("limits.max_body_bytes", "must not be negative")
	}
	if f.Limits.ExtProcMemoryBytes < 0 {
		add("limits.ext_proc_memory_bytes", "must not be negative")
	}
	if f.Limits.ScriptMemoryBytes < 0 {
		add("limits.script_memory_bytes", "must not be negative")
	}
	if f.Limits.AdminMaxConnections < 0 {
		add("limits.admin_max_connections", "must not be negative")
	}

	tenants := map[string]bool{}
	for i, t := range f.Tenants {
		p := fmt.Sprintf("tenants[%d]", i)
		if !validName(t.Name) {
			add(p+".name", "%q must be 1-63 characters of a-z, 0-9, '-' and '_'", t.Name)
		}
		if tenants[t.Name] {
			add(p+".name", "tenant %q is defined twice", t.Name)
		}
		tenants[t.Name] = true
		for j, c := range t.Credentials {
			if c.ID == "" {
				add(fmt.Sprintf("%s.credentials[%d].id", p, j), "required")
			}
			if _, err := ParseHash(c.Hash); err != nil {
				errs = append(errs, Hinted(fmt.Sprintf("%s.credentials[%d].hash", p, j),
					"issue AppKeys with POST /v1/tenants/{tenant}/credentials, which stores only their hash; the AppKey itself never goes in the config", "%v", err))
			}
		}
	}

	if f.Keystore.Vault != nil {
		for _, t := range slices.Sorted(maps.Keys(f.Keystore.Vault.Tenants)) {
			if !tenants[t] {
				add("keystore.vault.tenants."+t, "%q is not a defined tenant", t)
			}
		}
	}

	names, hosts := map[string]bool{}, map[string]string{}
	for i, pr := range f.Providers {
		p := fmt.Sprintf("providers[%d]", i)
		if !validName(pr.Name) {
			add(p+".name", "%q must be 1-63 characters of a-z, 0-9, '-' and '_'", pr.Name)
		}
		if names[pr.Name] {
			add(p+".name", "provider %q is defined twice", pr.Name)
		}
		names[pr.Name] = true
		switch {
		case len(f.Tenants) > 0 && pr.Tenant == "":
			errs = append(errs, Hinted(p+".tenant", fmt.Sprintf("add tenant: NAME (one of: %s); providers without a tenant are only allowed in a config without tenants", tenantList(f.Tenants)),
				"required: once a config defines tenants, every provider belongs to one"))
		case len(f.Tenants) > 0 && !tenants[pr.Tenant]:
			hint := "tenants: " + tenantList(f.Tenants)
			if near := closest(pr.Tenant, slices.Collect(maps.Keys(tenants))); near != "" {
				hint = fmt.Sprintf("did you mean %s?", near)
			}
			errs = append(errs, Hinted(p+".tenant", hint, "%q is not a defined tenant", pr.Tenant))
		}
		if len(pr.Hosts) == 0 {
			add(p+".hosts", "at least one host is required: it is how callers name the provider")
		}
		for j, h := range pr.Hosts {
			hp := fmt.Sprintf("%s.hosts[%d]", p, j)
			if err := routing.CheckHost(h); err != nil {
				add(hp, "host %v", err)
			} else if other, dup := hosts[h]; dup {
				add(hp, "%q is claimed by two providers, %s and %s: a host names one provider", h, other, describeProvider(pr))
			} else {
				hosts[h] = describeProvider(pr)
			}
		}
		validateUpstream(p+".upstream", pr.Upstream, add)
		for _, name := range slices.Sorted(maps.Keys(pr.Secrets)) {
			if err := checkSecretRef(p+".secrets."+name, pr.Secrets[name]); err != nil {
				errs = append(errs, err)
			}
		}
		for _, name := range slices.Sorted(maps.Keys(pr.Vars)) {
			if secretLikeVar(name) {
				errs = append(errs, Hinted(p+".vars."+name, "declare it under secrets as a reference ("+refExample+") and use the secret's name",
					"a var named like a secret: vars are plain values, shown in dry runs, logs and the admin API"))
			}
		}
		if len(pr.Signing) > 0 && pr.Script != nil {
			add(p+".script", "set together with signing: a provider uses built-in steps or a script, not both")
		}
		for j, s := range pr.Signing {
			if s.Scheme == "" {
				add(fmt.Sprintf("%s.signing[%d].scheme", p, j), "required")
			}
		}
		if s := pr.Script; s != nil && (s.File == "") == (s.Inline == "") {
			add(p+".script", "set exactly one of file and inline")
		}
		if t := pr.Token; t != nil && t.Type == "" {
			add(p+".token.type", "required")
		}
	}
	return errors.Join(errs...)
}

func tenantList(ts []Tenant) string {
	names := make([]string, 0, len(ts))
	for _, t := range ts {
		names = append(names, t.Name)
	}
	return strings.Join(names, ", ")
}

func validateUpstream(p string, u Upstream, add func(string, string, ...any)) {
	parsed, err := url.Parse(u.URL)
	switch {
	case u.URL == "":
		add(p+".url", "required")
	case err != nil:
		add(p+".url", "not a URL: %v", err)
	case parsed.Scheme != "http" && parsed.Scheme != "https":
		add(p+".url", "scheme %q is not http or https", parsed.Scheme)
	case parsed.Host == "":
		add(p+".url", "has no host")
	case parsed.User != nil:
		add(p+".url", "must not carry credentials: put them in secrets and sign with a scheme")
	case parsed.RawQuery != "" || parsed.Fragment != "":
		add(p+".url", "must not have a query or fragment: it is a path prefix")
	case parsed.EscapedPath() != "" && parsed.EscapedPath() != "/":
		// The prefix every caller path goes under: it must itself be what the upstream resolves.
		if err := routing.CheckPath(strings.TrimSuffix(parsed.EscapedPath(), "/") + "/"); err != nil {
			add(p+".url", "path prefix %q %v", parsed.EscapedPath(), err)
		}
	}
}

func validAuthMethod(m string) bool {
	return m == "token" || m == "approle" || m == "jwt" || m == "kubernetes"
}

// describeProvider names a provider and its tenant, for errors about two providers.
func describeProvider(p Provider) string {
	if p.Tenant == "" {
		return fmt.Sprintf("%q", p.Name)
	}
	return fmt.Sprintf("%q (tenant %q)", p.Name, p.Tenant)
}

func validName(s string) bool {
	if s == "" || len(s) > 63 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}
