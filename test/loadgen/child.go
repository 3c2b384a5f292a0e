package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"

	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/keygate/keygate/internal/daemon"
	"github.com/keygate/keygate/internal/procstat"
)

// The memory scenario measures keygate alone: its ext_proc server runs in a child process (this
// binary again, turned into a server by childEnv), so the child's peak RSS is keygate's, not the
// driver's 256 request messages and gRPC client buffers.
const (
	// childEnv holds the child's memory budget in bytes (limits.ext_proc_memory_bytes); set, the
	// binary serves keygate's ext_proc instead of driving load.
	childEnv = "KEYGATE_LOADGEN_CHILD_BUDGET"
	// childProfileEnv, when set, is where the child writes its allocation profile on exit.
	childProfileEnv = "KEYGATE_LOADGEN_CHILD_MEMPROFILE"
	// childReady prefixes the one line the child prints once it serves: its address.
	childReady = "keygate ext_proc "
)

// childMode reports whether this process is a keygate child and, if it is, serves until its
// stdin closes (the parent ended it, or died).
func childMode() (bool, error) {
	v, ok := os.LookupEnv(childEnv)
	if !ok {
		return false, nil
	}
	budget, err := strconv.ParseInt(v, 10, 64)
	if err != nil || budget < 0 {
		return true, fmt.Errorf("%s=%q: want a byte count", childEnv, v)
	}
	return true, serveChild(os.Stdin, os.Stdout, budget)
}

// serveChild runs keygate's ext_proc server with the given memory budget and Go's memory limit
// following it as in keygate serve, prints its address on out and serves until in ends.
func serveChild(in io.Reader, out io.Writer, budget int64) error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st, err := startStack(ctx, false)
	if err != nil {
		return err
	}
	defer st.close()
	st.kgSrv.SetMemoryBudget(budget)
	daemon.FollowMemoryLimit(ctx, st.kgSrv.InFlightBytes) // as keygate serve does
	if _, err := fmt.Fprintf(out, "%s%s\n", childReady, st.kgAddr); err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, in)
	if path := os.Getenv(childProfileEnv); path != "" {
		return writeHeapProfile(path)
	}
	return nil
}

// child is a running keygate child and a client of its ext_proc server.
type child struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	conn   *grpc.ClientConn
	client extprocv3.ExternalProcessorClient
	once   sync.Once
	err    error
}

// startChild starts a keygate child with the given memory budget; profile, when not empty, is
// where it writes its allocation profile when it ends.
func startChild(ctx context.Context, budget int64, profile string) (_ *child, err error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, self)
	cmd.Env = append(os.Environ(), childEnv+"="+strconv.FormatInt(budget, 10))
	if profile != "" {
		cmd.Env = append(cmd.Env, childProfileEnv+"="+profile)
	}
	cmd.Stderr = os.Stderr
	c := &child{cmd: cmd}
	if c.stdin, err = cmd.StdinPipe(); err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			_ = c.close()
		}
	}()
	line := make(chan string, 1)
	go func() {
		l, _ := bufio.NewReader(stdout).ReadString('\n')
		line <- l
		_, _ = io.Copy(io.Discard, stdout)
	}()
	var addr string
	select {
	case l := <-line:
		var ok bool
		if addr, ok = strings.CutPrefix(strings.TrimSpace(l), childReady); !ok {
			return nil, fmt.Errorf("keygate child: unexpected first line %q", l)
		}
	case <-time.After(30 * time.Second):
		return nil, errors.New("keygate child: not serving after 30 s")
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if c.conn, err = grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(64<<20), grpc.MaxCallSendMsgSize(64<<20))); err != nil {
		return nil, err
	}
	c.client = extprocv3.NewExternalProcessorClient(c.conn)
	return c, nil
}

// peakRSSMiB is the child's peak RSS since it started.
func (c *child) peakRSSMiB() float64 { return procstat.PeakRSSMiBOf(c.cmd.Process.Pid) }

// close ends the child: its stdin closes, it stops serving and exits; one that does not within
// ten seconds is killed.
func (c *child) close() error {
	c.once.Do(func() { c.err = c.end() })
	return c.err
}

func (c *child) end() error {
	if c.conn != nil {
		_ = c.conn.Close()
	}
	_ = c.stdin.Close()
	done := make(chan error, 1)
	go func() { done <- c.cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(10 * time.Second):
		_ = c.cmd.Process.Kill()
		return fmt.Errorf("keygate child did not exit; killed: %w", <-done)
	}
}
