package extproc

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/internal/failure"
	"github.com/keygate/keygate/internal/gateway"
	"github.com/keygate/keygate/signer"
)

type recordObserver struct{ got []Outcome }

func (r *recordObserver) Observe(o Outcome) { r.got = append(r.got, o) }

// TestFailedPhaseIsObservedAndLogged: a phase that failed closed reaches the observer (metrics,
// audit) with its status and stage, and the log as "request failed closed"; a phase that went on
// to the provider has no status and no log line.
func TestFailedPhaseIsObservedAndLogged(t *testing.T) {
	snap := testProcessor(t).snap
	for _, tt := range []struct {
		host      string
		status    int
		logged    bool
		wantStage bool
	}{{"nope.local", 404, true, true}, {"hdr.local", 0, false, false}} {
		rec := &recordObserver{}
		var logs bytes.Buffer
		p := newProcessor(context.Background(), snap, Options{Observer: rec,
			Logger: slog.New(slog.NewTextHandler(&logs, nil))}.withDefaults())
		if _, err := p.handle(headersMsg(tt.host, true)); err != nil {
			t.Fatal(err)
		}
		if len(rec.got) != 1 {
			t.Fatalf("%s: %d outcomes observed, want 1", tt.host, len(rec.got))
		}
		if o := rec.got[0]; o.Status != tt.status || (o.Stage != "") != tt.wantStage {
			t.Errorf("%s: observed status %d stage %q, want status %d", tt.host, o.Status, o.Stage, tt.status)
		}
		if got := strings.Contains(logs.String(), "request failed closed"); got != tt.logged {
			t.Errorf("%s: logged %v, want %v: %s", tt.host, got, tt.logged, logs.String())
		}
		if tt.logged && !strings.Contains(logs.String(), tt.host) {
			t.Errorf("%s: the log line does not carry the error: %s", tt.host, logs.String())
		}
	}
}

// TestServerErrorsLogAtErrorLevel: a 5xx is keygate's or the provider's fault and logs at
// ERROR; a refused request (4xx) is the caller's and logs at WARN.
func TestServerErrorsLogAtErrorLevel(t *testing.T) {
	for status, want := range map[int]slog.Level{499: slog.LevelWarn, 500: slog.LevelError, 502: slog.LevelError, 404: slog.LevelWarn} {
		if got := levelFor(status); got != want {
			t.Errorf("levelFor(%d) = %v, want %v", status, got, want)
		}
	}
}

// TestErrorDetailsNameTheStageWhenThereIsOne: Envoy logs the details as the response code
// details: keygate_<kind>, with _at_<stage> only when the failure has a stage.
func TestErrorDetailsNameTheStageWhenThereIsOne(t *testing.T) {
	for _, tt := range []struct {
		err  error
		want string
	}{
		{failure.New(failure.NotFound, "", "no provider"), "keygate_not_found"},
		{failure.New(failure.NotFound, "identify", "no provider"), "keygate_not_found_at_identify"},
		{errors.New("plain"), "keygate_" + failure.KindOf(errors.New("plain")).String()},
	} {
		if got := immediateError(tt.err).GetImmediateResponse().GetDetails(); got != tt.want {
			t.Errorf("details %q, want %q", got, tt.want)
		}
	}
}

// TestEnvoyAcceptsOnlyTokenNames: a header name Envoy's mutation checker refuses (with
// disallow_is_error, the whole answer fails) is one with a control character, space, DEL, a
// non-ASCII byte or an HTTP separator anywhere, an x-envoy-* name or a pseudo-header.
func TestEnvoyAcceptsOnlyTokenNames(t *testing.T) {
	for name, want := range map[string]bool{
		"x-ok": true, "a~": true, "a!": true, "x": true,
		"": false, ":path": false, "x-envoy-foo": false,
		"a b": false, " a": false, "a\x7f": false, "a\x80": false, "a\x1f": false,
		`"a`: false, `a"`: false, "a:b": false, "a{": false, "a}": false, "(a": false,
	} {
		if got := envoyAccepts(name); got != want {
			t.Errorf("envoyAccepts(%q) = %v, want %v", name, got, want)
		}
	}
}

// nonceStep writes the clock's nonce, so a test sees which clock signed.
type nonceStep struct{}

func (nonceStep) Needs() signer.Needs { return signer.Needs{} }
func (nonceStep) SignRequest(_ context.Context, x *signer.Exchange) error {
	x.Request.Header.Set("X-Nonce", x.Clock.Nonce())
	return nil
}

// TestRequestsSignWithTheServersClock: the clock in Options (keygate sign --time/--nonce, tests)
// is the one the steps read; without one, the system clock (a fresh nonce per request).
func TestRequestsSignWithTheServersClock(t *testing.T) {
	f, err := config.Parse([]byte(`providers: [{name: nonces, hosts: [nonces.local], upstream: {url: "https://nonces.example"}, signing: [{scheme: nonce}]}]`))
	if err != nil {
		t.Fatal(err)
	}
	snap, err := (&gateway.Compiler{Catalog: signer.Catalog{
		"nonce": func(signer.Build) (signer.Step, error) { return nonceStep{}, nil },
	}}).Compile(f, gateway.Meta{})
	if err != nil {
		t.Fatal(err)
	}
	nonce := func(opts Options) string {
		p := newProcessor(context.Background(), snap, opts.withDefaults())
		resp, err := p.handle(headersMsg("nonces.local", true))
		if err != nil {
			t.Fatal(err)
		}
		return sets(resp.GetRequestHeaders().GetResponse().GetHeaderMutation())["x-nonce"]
	}
	if got := nonce(Options{Clock: signer.FixedClock(time.Unix(0, 0), "pinned")}); got != "pinned" {
		t.Errorf("nonce %q, want the pinned clock's", got)
	}
	if a, b := nonce(Options{}), nonce(Options{}); len(a) != 32 || a == b {
		t.Errorf("system clock nonces %q, %q: want fresh 32-character ones", a, b)
	}
}
