package daemon

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path/filepath"

	"github.com/keygate/keygate/internal/admin"
	"github.com/keygate/keygate/internal/app"
	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/internal/script"
)

// startSetting is a config setting `keygate serve` reads only when it starts (Run, bootConfig,
// newAdmin): a version that changes it is stored and served, but the setting keeps the value
// the process started with until a restart (which reads it from the config file, or the
// last-known-good version when the file is unreadable).
type startSetting struct {
	path   string // the field path as the config spells it
	reason string // why a live apply cannot change it, for the operator
	// value is what the process does with the setting, defaults filled in: a version that
	// leaves a default unset and one that spells it out are the same. Settings are compared
	// by a fingerprint of it (StartSettings), so that what the process started with can be
	// written down for `keygate config` without writing a value.
	value func(f *config.File) any
	// changed, when set, replaces "the fingerprints differ": for a setting only part of whose
	// changes are followed live (admin.jwt: changed and removed are, turned on is not). fp is
	// the fingerprint of a value.
	changed func(boot, next string) bool
}

// jwtOff is admin.jwt.console's value when admin.jwt is off.
const jwtOff = "admin.jwt off"

const (
	reasonListener = "listeners are bound at start"
	reasonKeystore = "the keystore is opened at start"
	reasonState    = "the state folder, version store and audit log are opened at start"
)

// startOnly is the one list of start-only settings: the restart report (restartRequired),
// the docs (docs/operations.md, docs/admin.md) and the tests (startonly_test.go, which fails
// when a config field is in neither this list nor liveSettings) all read it. Keep it in step
// with what Run reads from boot.File.
var startOnly = []startSetting{
	{path: "listen.ext_proc", reason: reasonListener, value: func(f *config.File) any { return app.ListenOrDefault(f.Listen).ExtProc }},
	{path: "listen.admin", reason: reasonListener, value: func(f *config.File) any { return app.ListenOrDefault(f.Listen).Admin }},
	{path: "listen.xds", reason: reasonListener, value: func(f *config.File) any { return app.ListenOrDefault(f.Listen).XDS }},
	{path: "listen.health", reason: reasonListener, value: func(f *config.File) any { return f.Listen.Health }},
	{path: "listen.tls", reason: "the listeners' TLS and what Envoy is told to present are set up at start",
		value: func(f *config.File) any { return f.Listen.TLS }},
	{path: "listen.insecure_plaintext", reason: "the listeners' transport is chosen at start",
		value: func(f *config.File) any { return f.Listen.InsecurePlaintext }},
	{path: "listen.ext_proc_advertise", reason: "the ext_proc address Envoy dials is fixed at start",
		value: func(f *config.File) any { return f.Listen.ExtProcAdvertise }},
	{path: "keystore.type", reason: reasonKeystore, value: func(f *config.File) any { return f.Keystore.Type }},
	{path: "keystore.file", reason: reasonKeystore, value: func(f *config.File) any { return f.Keystore.File }},
	{path: "keystore.vault", reason: reasonKeystore, value: func(f *config.File) any { return f.Keystore.Vault }},
	{path: "limits.ext_proc_max_streams", reason: "the ext_proc server's stream limit is set at start",
		value: func(f *config.File) any { return maxStreams(f.Limits) }},
	{path: "limits.ext_proc_memory_bytes", reason: "the ext_proc memory budget is set at start",
		value: func(f *config.File) any { return memoryBudget(f.Limits) }},
	{path: "limits.admin_max_connections", reason: "the admin listener's connection cap is set at start",
		value: func(f *config.File) any { return adminMaxConnections(f.Limits) }},
	{path: "limits.script_memory_bytes", reason: "the script memory ceiling is set at start",
		value: func(f *config.File) any { return scriptMaxMemory(f.Limits) }},
	{path: "state.dir", reason: reasonState, value: func(f *config.File) any { return filepath.Clean(f.StateDir()) }},
	{path: "state.shared_in_vault", reason: reasonState, value: func(f *config.File) any { return f.State.SharedInVault }},
	{path: "state.audit_file", reason: reasonState, value: func(f *config.File) any { return auditPath(f) }},
	{path: "admin.tokens_file", reason: "the admin tokens file watched is chosen at start",
		value: func(f *config.File) any { return f.Admin.TokensFile }},
	{path: "admin.metrics.tenant_labels", reason: "the metrics' labels are chosen at start",
		value: func(f *config.File) any { return f.Admin.Metrics.TenantLabels }},
	{path: "admin.jwt", reason: "JWT login is set up at start: turning it on takes a restart",
		value:   func(f *config.File) any { return f.Admin.JWT != nil },
		changed: func(boot, next string) bool { return boot == fingerprint(false) && next == fingerprint(true) }},
	{path: "admin.jwt.console", reason: "the console's OIDC login is set up at start",
		value: func(f *config.File) any {
			if f.Admin.JWT == nil {
				return jwtOff // turning admin.jwt on or off is admin.jwt's report
			}
			return f.Admin.JWT.Console
		},
		changed: func(boot, next string) bool {
			return boot != next && boot != fingerprint(jwtOff) && next != fingerprint(jwtOff)
		}},
}

// liveSettings are the config fields (and the sections under them) a version changes in the
// running process: compiled into the snapshot, pushed to Envoy over xDS, or followed by the
// admin logins (adminLogins.versionApplied). startonly_test.go checks every field of
// config.File is here or in startOnly.
var liveSettings = []string{
	"listen.ingress",        // Envoy's callback listener, pushed over xDS
	"egress",                // Envoy's egress listener, pushed over xDS
	"envoy",                 // xDS choices
	"limits.max_body_bytes", // lowered live; raised above the start value refused (publisher.compile)
	"admin.tokens",          // adminLogins.versionApplied
	"admin.jwt",             // followed when keygate started with it (changed, removed)
	"admin.metrics.require_token",
	"tenants",
	"providers",
}

// StartSettings are fingerprints of a config's start-only settings, by path: a SHA-256 of the
// value the process makes of each, so that they can be compared, and written to the state
// folder for `keygate config`, without keeping a value (keystore settings may name
// credentials).
type StartSettings map[string]string

// StartSettingsOf fingerprints f's start-only settings; f is prepared (app.Prepare), so the
// environment's overrides and relative paths are what the process makes of them.
func StartSettingsOf(f *config.File) StartSettings {
	out := StartSettings{}
	for _, s := range startOnly {
		out[s.path] = fingerprint(s.value(f))
	}
	return out
}

// RestartRequired lists the start-only settings in which next differs from boot, the settings
// the process started with, in startOnly's order. A path boot does not know (written by an
// older keygate) is not reported. The report names paths and reasons, never a value.
func (boot StartSettings) RestartRequired(next StartSettings) []admin.RestartField {
	var out []admin.RestartField
	for _, s := range startOnly {
		b, ok := boot[s.path]
		if !ok {
			continue
		}
		n := next[s.path]
		changed := b != n
		if s.changed != nil {
			changed = s.changed(b, n)
		}
		if changed {
			out = append(out, admin.RestartField{Path: s.path, Reason: s.reason})
		}
	}
	return out
}

// restartRequired is the report for next against boot, both prepared configs.
func restartRequired(boot, next *config.File) []admin.RestartField {
	return StartSettingsOf(boot).RestartRequired(StartSettingsOf(next))
}

// fingerprint is a SHA-256 of v's JSON.
func fingerprint(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		b = []byte(fmt.Sprintf("%#v", v)) // config values always marshal; never equal to JSON
	}
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// adminMaxConnections is limits.admin_max_connections or its default.
func adminMaxConnections(l config.Limits) int {
	if l.AdminMaxConnections == 0 {
		return DefaultAdminMaxConnections
	}
	return l.AdminMaxConnections
}

// scriptMaxMemory is limits.script_memory_bytes or its default.
func scriptMaxMemory(l config.Limits) int64 {
	if l.ScriptMemoryBytes == 0 {
		return script.DefaultMemory
	}
	return l.ScriptMemoryBytes
}

// auditPath is state.audit_file or its default.
func auditPath(f *config.File) string {
	if f.State.AuditFile == "" {
		return filepath.Join(f.StateDir(), "audit.jsonl")
	}
	return f.State.AuditFile
}
