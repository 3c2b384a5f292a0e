package fleet

import (
	"testing"
	"time"

	"github.com/keygate/keygate/internal/redact"
	"github.com/keygate/keygate/internal/secret"
	"github.com/keygate/keygate/internal/testkit"
)

// replica is one `keygate serve` subprocess and the addresses it reported.
type replica struct {
	*testkit.Process
	name    string
	secrets func() []string // every secret its log could hold, for what the test prints
	extProc string
	xds     string
	admin   string
}

// startReplica starts `keygate serve --config config`; the process is killed when the test ends
// (and by the kernel if the test binary dies first).
func startReplica(t *testing.T, bin, name, config string, secrets func() []string) *replica {
	t.Helper()
	return &replica{name: name, secrets: secrets,
		Process: testkit.StartProcess(t, bin, "serve", "--config", config, "--log-level", "debug")}
}

// shown is the replica's log with every secret withheld: its debug log may hold tokens, the
// client secret and the Vault token, and a failure message must not.
func (r *replica) shown() string {
	var set redact.Set
	for _, s := range r.secrets() {
		set.Add(secret.FromString(s))
	}
	return string(set.Apply(r.Out.Bytes()))
}

// waitServing waits (bounded) for the serving line and records the addresses.
func (r *replica) waitServing(t *testing.T, limit time.Duration) {
	t.Helper()
	a := r.WaitServing(t, limit, func([]byte) []byte { return []byte(r.shown()) })
	r.extProc, r.xds, r.admin = a.ExtProc, a.XDS, a.Admin
}
