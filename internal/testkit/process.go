package testkit

import (
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
	"time"
)

// BuildKeygate builds cmd/keygate into a temporary folder, with the race detector when race.
// Tests that run `keygate serve` as a real process (restart, fleet, leak scan) use it.
func BuildKeygate(t testing.TB, race bool) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "keygate")
	args := []string{"build", "-o", bin}
	if race {
		args = append(args, "-race")
	}
	if out, err := exec.Command("go", append(args, "github.com/keygate/keygate/cmd/keygate")...).CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/keygate: %v\n%s", err, out)
	}
	return bin
}

// Process is a subprocess a test started. It is killed when the test ends, and by the kernel
// if the test binary dies first (Linux).
type Process struct {
	Cmd    *exec.Cmd
	Out    *SyncBuffer   // stdout and stderr
	Exited chan struct{} // closed once it exited; Err is then what Wait returned
	Err    error
}

// StartProcess starts name with args.
func StartProcess(t testing.TB, name string, args ...string) *Process {
	t.Helper()
	p := &Process{Cmd: exec.Command(name, args...), Out: &SyncBuffer{}, Exited: make(chan struct{})}
	p.Cmd.Stdout, p.Cmd.Stderr = p.Out, p.Out
	p.Cmd.SysProcAttr = ProcAttr()
	if err := p.Cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.Err = p.Cmd.Wait(); close(p.Exited) }()
	t.Cleanup(func() {
		_ = p.Cmd.Process.Kill()
		<-p.Exited
	})
	return p
}

// WaitHTTP200 polls url until it answers 200, for at most limit. On failure it prints the
// process's output through show, which must withhold every secret the output may hold.
func (p *Process) WaitHTTP200(t testing.TB, url string, limit time.Duration, show func([]byte) []byte) {
	t.Helper()
	c := http.Client{Timeout: time.Second}
	deadline := time.After(limit)
	for {
		if resp, err := c.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case <-p.Exited:
			t.Fatalf("the process exited before %s answered 200: %v; its output, secrets withheld:\n%s", url, p.Err, show(p.Out.Bytes()))
		case <-deadline:
			t.Fatalf("%s did not answer 200 within %s; the process's output, secrets withheld:\n%s", url, limit, show(p.Out.Bytes()))
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Serving is where a `keygate serve` process listens, as it reported it.
type Serving struct{ ExtProc, XDS, Admin string }

// servingLine is the daemon's "keygate serving" log line (slog text). Tests give every listener
// port 0 and learn the bound addresses from here: a port picked before the process binds it can
// be taken by another test run in between, and then the test would talk to that run's keygate.
var servingLine = regexp.MustCompile(`msg="keygate serving" ext_proc=(\S+) xds=(\S+) admin=(\S+)`)

// WaitServing waits (bounded) for the serving line and returns the addresses. On failure it
// prints the process's output through show, which must withhold every secret the output may hold.
func (p *Process) WaitServing(t testing.TB, limit time.Duration, show func([]byte) []byte) Serving {
	t.Helper()
	deadline := time.After(limit)
	for {
		if m := servingLine.FindStringSubmatch(p.Out.String()); m != nil {
			return Serving{ExtProc: m[1], XDS: m[2], Admin: m[3]}
		}
		select {
		case <-p.Exited:
			t.Fatalf("the process exited before serving: %v; its output, secrets withheld:\n%s", p.Err, show(p.Out.Bytes()))
		case <-deadline:
			t.Fatalf("not serving after %s; the process's output, secrets withheld:\n%s", limit, show(p.Out.Bytes()))
		case <-time.After(20 * time.Millisecond):
		}
	}
}
