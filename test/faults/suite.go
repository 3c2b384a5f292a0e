// Package faults is keygate's fault suite (issue #8): each fault runs a bounded load through the
// Envoy emulator and keygate on loopback, against upstreams that verify every request they
// receive, and records what was sent, what callers got and what reached the upstream. The claim
// under test: whatever fails, no unsigned or plaintext request leaves. TestFaultSuite runs it
// (`make faults`); test/leakscan runs it again with a capturing logger to prove no secret
// reaches a log line or an error body.
package faults

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/keygate/keygate/internal/redact"
	"github.com/keygate/keygate/internal/secret"
	"github.com/keygate/keygate/internal/vaulttest"
)

// Result is one fault's row of the table (and of FAULTS_OUT).
type Result struct {
	Fault           string         `json:"fault"`
	Want            string         `json:"expected"`
	Sent            int            `json:"sent"`
	CallerStatuses  map[string]int `json:"caller_statuses"`
	ReachedUpstream int64          `json:"reached_upstream"`
	UnsignedLeaks   int64          `json:"unsigned_leaks"`
	// ForgedDelivered counts callbacks that failed verification (forged, replayed, stale, of
	// an unknown serial) yet reached the service; RealCredentialResigned counts requests a
	// service signed with a real credential that keygate re-signed and sent. Both must be 0.
	ForgedDelivered        int64    `json:"forged_callbacks_delivered"`
	RealCredentialResigned int64    `json:"real_credential_resigned"`
	Passed                 bool     `json:"passed"`
	Notes                  []string `json:"notes,omitempty"`
}

// Options configure a run.
type Options struct {
	Logger  *slog.Logger // every keygate part logs here; default discard
	Secrets Secrets      // default random per run
	// ErrorBody, when set, receives every error body a caller got (the leak scan reads them).
	ErrorBody func([]byte)
}

// env is what every fault of one run shares.
type env struct {
	top   *testing.T
	log   *slog.Logger
	s     Secrets
	vault *vaulttest.Server // started on first use
	// vaultRunning is false after a fault stopped it.
	vaultRunning bool
}

// record is what one fault fills in.
type record struct {
	caller *caller
	ups    []*upstream
	notes  []string
}

func (r *record) watch(u *upstream) *upstream { r.ups = append(r.ups, u); return u }
func (r *record) note(format string, args ...any) {
	r.notes = append(r.notes, fmt.Sprintf(format, args...))
}

// fault is one entry of the suite.
type fault struct {
	name, want string
	run        func(t *testing.T, e *env, r *record)
}

// Run runs every fault as a subtest of t and returns the table.
func Run(t *testing.T, opts Options) []Result {
	e := &env{top: t, log: opts.Logger, s: opts.Secrets}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	if e.s.APIKey == "" {
		e.s = NewSecrets()
	}
	var set redact.Set
	for _, v := range e.s.Values() {
		set.Add(v)
	}
	var results []Result
	for _, f := range allFaults() {
		r := &record{}
		res := Result{Fault: f.name, Want: f.want}
		ran := false
		ok := t.Run(strings.ReplaceAll(f.name, " ", "_"), func(t *testing.T) {
			ran = true
			f.run(t, e, r)
			if r.caller == nil {
				return
			}
			res.Sent, res.CallerStatuses = r.caller.snapshot()
			for _, u := range r.ups {
				res.ReachedUpstream += u.reached.Load()
				switch u.guards {
				case guardCallback:
					res.ForgedDelivered += u.leaks.Load()
				case guardPlaceholder:
					res.RealCredentialResigned += u.leaks.Load()
				default:
					res.UnsignedLeaks += u.leaks.Load()
				}
			}
			for _, b := range r.caller.errorBodies() {
				if found, i := set.Find(b); found {
					t.Errorf("a caller's error body holds a secret (form %d; value withheld)", i)
				}
				if opts.ErrorBody != nil {
					opts.ErrorBody(b)
				}
			}
			if res.UnsignedLeaks != 0 {
				t.Errorf("%d unsigned or plaintext requests reached the upstream", res.UnsignedLeaks)
			}
			if res.ForgedDelivered != 0 {
				t.Errorf("%d callbacks that fail verification reached the service", res.ForgedDelivered)
			}
			if res.RealCredentialResigned != 0 {
				t.Errorf("%d requests signed with a real credential were re-signed and sent", res.RealCredentialResigned)
			}
			t.Logf("sent %d; callers got %v; reached upstream %d; leaks %d; forged delivered %d; real credential re-signed %d",
				res.Sent, res.CallerStatuses, res.ReachedUpstream, res.UnsignedLeaks, res.ForgedDelivered, res.RealCredentialResigned)
			for _, n := range r.notes {
				t.Logf("note: %s", n)
			}
		})
		if !ran { // filtered out by -run
			continue
		}
		res.Passed = ok && r.caller != nil
		res.Notes = r.notes
		results = append(results, res)
	}
	return results
}

// Print writes the table and the totals; it returns the sum of every breach (unsigned or
// plaintext requests, forged callbacks delivered, real credentials re-signed), which must be 0.
func Print(w io.Writer, results []Result) int64 {
	var unsigned, forged, resigned int64
	fmt.Fprintf(w, "\n%-44s %-36s %5s  %-24s %8s %6s %6s %8s %s\n", "fault", "expected", "sent", "caller statuses", "upstream",
		"leaks", "forged", "realcred", "passed")
	for _, r := range results {
		unsigned += r.UnsignedLeaks
		forged += r.ForgedDelivered
		resigned += r.RealCredentialResigned
		fmt.Fprintf(w, "%-44s %-36s %5d  %-24s %8d %6d %6d %8d %v\n", r.Fault, r.Want, r.Sent,
			statusText(r.CallerStatuses), r.ReachedUpstream, r.UnsignedLeaks, r.ForgedDelivered, r.RealCredentialResigned, r.Passed)
	}
	fmt.Fprintf(w, "unsigned or plaintext requests that reached any upstream: %d\n", unsigned)
	fmt.Fprintf(w, "forged, replayed or stale callbacks delivered to a service: %d\n", forged)
	fmt.Fprintf(w, "re-signed requests that carried a real credential: %d\n", resigned)
	return unsigned + forged + resigned
}

// WriteJSON writes the table as JSON to path.
func WriteJSON(path string, results []Result) error {
	b, err := json.MarshalIndent(results, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

func statusText(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s:%d", k, m[k])
	}
	return strings.Join(parts, " ")
}

// Values are the run's secrets as secret.Values (for a redact.Set).
func (s Secrets) Values() []secret.Value {
	return []secret.Value{secret.FromString(s.APIKey), secret.FromString(s.ClientSecret),
		secret.FromString(s.AESKey), secret.FromString(s.AESIV), secret.FromString(s.APIv3Key),
		secret.FromString(s.AWSSecret)}
}
