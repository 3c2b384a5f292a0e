// Package audit records who did what: admin actions (who, role, what, which config version)
// and per-request signing events (tenant, provider, schemes, key references and KV versions,
// outcome, latency). Events hold references only: no field can carry a secret value.
package audit

import (
	"encoding/json"
	"time"

	"github.com/keygate/keygate/signer"
)

// Event kinds, the "type" field of a JSON line.
const (
	KindAdmin = "admin"
	KindSign  = "sign"
)

// Outcomes.
const (
	OutcomeOK     = "ok"     // done
	OutcomeDenied = "denied" // refused: authentication, authorization, validation
	OutcomeError  = "error"  // failed: a dependency or a bug
)

// Event is one audit record.
type Event interface {
	Kind() string
	// TenantName is the tenant the event concerns ("" for gateway-wide admin actions).
	TenantName() string
	At() time.Time
}

// Admin is an admin API (or CLI) action.
type Admin struct {
	Time    time.Time `json:"time"`
	Actor   string    `json:"actor"`            // token principal name, or the CLI user
	Role    string    `json:"role"`             // gateway_admin | tenant_admin | tenant_developer | cli
	Tenant  string    `json:"tenant,omitempty"` // the tenant acted on
	Action  string    `json:"action"`           // e.g. config.apply, config.rollback, secret.write
	Target  string    `json:"target,omitempty"` // what was acted on: a provider, a secret reference, a version
	Version int       `json:"version,omitempty"`
	Outcome string    `json:"outcome"`
	Status  int       `json:"status,omitempty"` // the HTTP status replied
	Error   string    `json:"error,omitempty"`  // a failure message: secret-free by the failure contract
	// RestartRequired names the start-only settings (paths, never values) the version this
	// event made or reports changes: they take effect at the next restart.
	RestartRequired []string `json:"restart_required,omitempty"`
}

// Sign is one request signed (or refused) on the request path.
type Sign struct {
	Time     time.Time       `json:"time"`
	Tenant   string          `json:"tenant,omitempty"`
	Provider string          `json:"provider"`
	Schemes  []string        `json:"schemes,omitempty"`
	Keys     []signer.KeyUse `json:"-"`
	Outcome  string          `json:"outcome"`
	Status   int             `json:"status,omitempty"`
	Stage    string          `json:"stage,omitempty"` // the failure stage when not ok
	Error    string          `json:"error,omitempty"` // the failure message: secret-free by the failure contract
	Latency  time.Duration   `json:"-"`
	Version  int             `json:"config_version,omitempty"`
}

func (Admin) Kind() string         { return KindAdmin }
func (e Admin) TenantName() string { return e.Tenant }
func (e Admin) At() time.Time      { return e.Time }
func (Sign) Kind() string          { return KindSign }
func (e Sign) TenantName() string  { return e.Tenant }
func (e Sign) At() time.Time       { return e.Time }

var (
	_ Event = Admin{}
	_ Event = Sign{}
)

// KeyRef is how a signer.KeyUse is written: the key's name in the provider, its reference and
// the KV version used (0 for Transit keys and the file keystore).
type KeyRef struct {
	Name    string `json:"name"`
	Ref     string `json:"ref"`
	Version int    `json:"version,omitempty"`
}

// MarshalJSON writes the event as one JSON object with its "type".
func (e Admin) MarshalJSON() ([]byte, error) {
	type plain Admin
	return json.Marshal(struct {
		Type string `json:"type"`
		plain
	}{KindAdmin, plain(e)})
}

// MarshalJSON writes the event with its "type", its keys and its latency in milliseconds.
func (e Sign) MarshalJSON() ([]byte, error) {
	type plain Sign
	keys := make([]KeyRef, len(e.Keys))
	for i, k := range e.Keys {
		keys[i] = KeyRef{Name: k.Name, Ref: k.Ref, Version: k.Version}
	}
	return json.Marshal(struct {
		Type string `json:"type"`
		plain
		Keys      []KeyRef `json:"keys,omitempty"`
		LatencyMS float64  `json:"latency_ms"`
	}{KindSign, plain(e), keys, float64(e.Latency.Microseconds()) / 1000})
}
