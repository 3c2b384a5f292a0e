package fleet

import (
	"os/exec"
	"path/filepath"
	"regexp"
	"syscall"
	"testing"
	"time"

	"github.com/keygate/keygate/internal/testkit"
)

// buildKeygate builds cmd/keygate once into a temporary folder: the replicas are the real binary
// (with the race detector when the test runs with it).
func buildKeygate(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "keygate")
	args := []string{"build", "-o", bin}
	if raceBuild {
		args = append(args, "-race")
	}
	cmd := exec.Command("go", append(args, "github.com/keygate/keygate/cmd/keygate")...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/keygate: %v\n%s", err, out)
	}
	return bin
}

// replica is one `keygate serve` subprocess and the addresses it reported.
type replica struct {
	name    string
	cmd     *exec.Cmd
	out     *testkit.SyncBuffer
	exited  chan struct{}
	err     error
	extProc string
	xds     string
	admin   string
}

// startReplica starts `keygate serve --config config`; the process is killed when the test ends
// (and by the kernel if the test binary dies first).
func startReplica(t *testing.T, bin, name, config string) *replica {
	t.Helper()
	r := &replica{name: name, out: &testkit.SyncBuffer{}, exited: make(chan struct{})}
	r.cmd = exec.Command(bin, "serve", "--config", config, "--log-level", "debug")
	r.cmd.Stdout, r.cmd.Stderr = r.out, r.out
	r.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { r.err = r.cmd.Wait(); close(r.exited) }()
	t.Cleanup(func() {
		_ = r.cmd.Process.Kill()
		<-r.exited
	})
	return r
}

// servingLine is the daemon's "keygate serving" log line (slog text); the config asks for port
// 0 everywhere, so the addresses come from here.
var servingLine = regexp.MustCompile(`msg="keygate serving" ext_proc=(\S+) xds=(\S+) admin=(\S+)`)

// waitServing waits (bounded) for the serving line and records the addresses.
func (r *replica) waitServing(t *testing.T, limit time.Duration) {
	t.Helper()
	deadline := time.After(limit)
	for {
		if m := servingLine.FindStringSubmatch(r.out.String()); m != nil {
			r.extProc, r.xds, r.admin = m[1], m[2], m[3]
			return
		}
		select {
		case <-r.exited:
			t.Fatalf("%s exited before serving: %v\n%s", r.name, r.err, r.out.String())
		case <-deadline:
			t.Fatalf("%s not serving after %s:\n%s", r.name, limit, r.out.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
}
