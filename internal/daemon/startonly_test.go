package daemon

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/keygate/keygate/internal/config"
)

// configLeaves are the field paths of config.File as the config spells them, down to fields
// that are not structs (a list of providers is one leaf: "providers").
func configLeaves(t reflect.Type, prefix string, out *[]string) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" {
			continue
		}
		path := name
		if prefix != "" {
			path = prefix + "." + name
		}
		ft := f.Type
		for ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if ft.Kind() == reflect.Struct && ft.NumField() > 0 && ft.PkgPath() == reflect.TypeFor[config.File]().PkgPath() && !isLeafStruct(ft) {
			configLeaves(ft, path, out)
			continue
		}
		*out = append(*out, path)
	}
}

// isLeafStruct: config types that are values, not sections (config.Duration).
func isLeafStruct(t reflect.Type) bool { return t == reflect.TypeFor[config.Duration]() }

// covered reports whether path is list's entry or under one.
func covered(path string, list []string) bool {
	for _, p := range list {
		if path == p || strings.HasPrefix(path, p+".") {
			return true
		}
	}
	return false
}

func startOnlyPaths() []string {
	var out []string
	for _, s := range startOnly {
		out = append(out, s.path)
	}
	return out
}

// TestEveryConfigFieldIsClassified: a config field that keygate serve reads only at start and
// that nobody listed would be applied, stored, reported as applied, and do nothing until a
// restart, without a word. Every field of config.File must be in startOnly or liveSettings:
// a new field (or section) fails here until someone decides which it is.
func TestEveryConfigFieldIsClassified(t *testing.T) {
	var leaves []string
	configLeaves(reflect.TypeFor[config.File](), "", &leaves)
	if len(leaves) < 30 {
		t.Fatalf("only %d config fields found: the walk is broken", len(leaves))
	}
	start := startOnlyPaths()
	for _, p := range leaves {
		if !covered(p, start) && !covered(p, liveSettings) {
			t.Errorf("config field %s is neither start-only (startOnly) nor followed live (liveSettings): "+
				"find whether keygate serve reads it only at start (Run, bootConfig, newAdmin) and list it", p)
		}
	}
	// Every listed path is a real field or section, so a rename cannot leave a stale entry.
	for _, p := range append(slices.Clone(start), liveSettings...) {
		found := false
		for _, l := range leaves {
			if l == p || strings.HasPrefix(l, p+".") {
				found = true
			}
		}
		if !found {
			t.Errorf("%s is listed but config.File has no such field", p)
		}
	}
}

// startOnlyChanges changes each start-only setting of a config: one entry per startOnly path
// (TestEveryStartOnlyChangeIsReported fails when one is missing).
var startOnlyChanges = map[string]func(f *config.File){
	"listen.ext_proc":              func(f *config.File) { f.Listen.ExtProc = "127.0.0.1:28080" },
	"listen.admin":                 func(f *config.File) { f.Listen.Admin = "127.0.0.1:28081" },
	"listen.xds":                   func(f *config.File) { f.Listen.XDS = "127.0.0.1:28000" },
	"listen.health":                func(f *config.File) { f.Listen.Health = "0.0.0.0:18082" },
	"listen.tls":                   func(f *config.File) { f.Listen.TLS = &config.ListenTLS{CertFile: "c.pem"} },
	"listen.insecure_plaintext":    func(f *config.File) { f.Listen.InsecurePlaintext = true },
	"listen.ext_proc_advertise":    func(f *config.File) { f.Listen.ExtProcAdvertise = "keygate:18080" },
	"keystore.type":                func(f *config.File) { f.Keystore.Type = "vault" },
	"keystore.file":                func(f *config.File) { f.Keystore.File = &config.FileStore{Path: "/other/keys.yaml"} },
	"keystore.vault":               func(f *config.File) { f.Keystore.Vault = &config.Vault{Address: "https://vault:8200"} },
	"limits.ext_proc_max_streams":  func(f *config.File) { f.Limits.ExtProcMaxStreams = 10 },
	"limits.ext_proc_memory_bytes": func(f *config.File) { f.Limits.ExtProcMemoryBytes = 1 << 20 },
	"limits.admin_max_connections": func(f *config.File) { f.Limits.AdminMaxConnections = 8 },
	"limits.script_memory_bytes":   func(f *config.File) { f.Limits.ScriptMemoryBytes = 1 << 20 },
	"state.dir":                    func(f *config.File) { f.State.Dir = "/other/state" },
	"state.shared_in_vault":        func(f *config.File) { f.State.SharedInVault = true },
	"state.audit_file":             func(f *config.File) { f.State.AuditFile = "-" },
	"admin.tokens_file":            func(f *config.File) { f.Admin.TokensFile = "/other/tokens.yaml" },
	"admin.metrics.tenant_labels":  func(f *config.File) { f.Admin.Metrics.TenantLabels = true },
	"admin.jwt":                    func(f *config.File) { f.Admin.JWT = &config.AdminJWT{Issuer: "https://issuer"} },
	"admin.jwt.console":            nil, // needs admin.jwt at start: TestRestartRequiredJWT
}

func baseConfig() *config.File {
	return &config.File{Keystore: config.Keystore{Type: "file", File: &config.FileStore{Path: "/etc/keygate/keys.yaml"}},
		State: config.State{Dir: "/var/lib/keygate", AuditFile: "/var/log/keygate/audit.jsonl"}}
}

// TestEveryStartOnlyChangeIsReported changes each start-only setting alone and expects exactly
// that path in the report; the unchanged config reports nothing.
func TestEveryStartOnlyChangeIsReported(t *testing.T) {
	if got := restartRequired(baseConfig(), baseConfig()); len(got) != 0 {
		t.Fatalf("an unchanged config reports %v", got)
	}
	for _, s := range startOnly {
		change, ok := startOnlyChanges[s.path]
		if !ok {
			t.Errorf("no change for start-only %s in startOnlyChanges: add one", s.path)
			continue
		}
		if change == nil {
			continue
		}
		next := baseConfig()
		change(next)
		got := restartRequired(baseConfig(), next)
		if len(got) != 1 || got[0].Path != s.path || got[0].Reason == "" {
			t.Errorf("changing %s alone reports %v", s.path, got)
		}
	}
}

// TestRestartRequiredDefaults: a version that spells out a default the process started with
// unset (or the reverse) changes nothing; live settings are never reported.
func TestRestartRequiredDefaults(t *testing.T) {
	boot := baseConfig()
	boot.State.AuditFile = "" // the default: under state.dir
	next := baseConfig()
	next.Listen = config.Listen{ExtProc: "127.0.0.1:18080", Admin: "127.0.0.1:18081", XDS: "127.0.0.1:18000", Ingress: "0.0.0.0:9999"}
	next.Limits = config.Limits{ExtProcMaxStreams: DefaultExtProcMaxStreams, ExtProcMemoryBytes: DefaultExtProcMemoryBytes,
		AdminMaxConnections: DefaultAdminMaxConnections, ScriptMemoryBytes: 32 << 20, MaxBodyBytes: 1 << 10}
	next.State.AuditFile = "/var/lib/keygate/audit.jsonl"
	next.Admin.Metrics.RequireToken = true
	next.Admin.Tokens = []config.AdminToken{{Name: "ops"}}
	next.Providers = []config.Provider{{Name: "p"}}
	if got := restartRequired(boot, next); len(got) != 0 {
		t.Fatalf("defaults spelled out and live settings report %v", got)
	}
}

// TestRestartRequiredJWT: with admin.jwt at start, a changed or removed admin.jwt is followed
// live; only its console login is not. Without it, turning it on is reported.
func TestRestartRequiredJWT(t *testing.T) {
	withJWT := func(issuer string, console *config.AdminJWTConsole) *config.File {
		f := baseConfig()
		f.Admin.JWT = &config.AdminJWT{Issuer: issuer, Audience: "keygate", Console: console}
		return f
	}
	paths := func(boot, next *config.File) []string {
		var out []string
		for _, r := range restartRequired(boot, next) {
			out = append(out, r.Path)
		}
		return out
	}
	boot := withJWT("https://a", nil)
	if got := paths(boot, withJWT("https://b", nil)); len(got) != 0 {
		t.Errorf("admin.jwt changed (followed live) reports %v", got)
	}
	if got := paths(boot, baseConfig()); len(got) != 0 {
		t.Errorf("admin.jwt removed (followed live) reports %v", got)
	}
	if got := paths(boot, withJWT("https://a", &config.AdminJWTConsole{ClientID: "c"})); !slices.Equal(got, []string{"admin.jwt.console"}) {
		t.Errorf("console login turned on reports %v", got)
	}
	if got := paths(baseConfig(), withJWT("https://a", nil)); !slices.Equal(got, []string{"admin.jwt"}) {
		t.Errorf("admin.jwt turned on reports %v", got)
	}
}
