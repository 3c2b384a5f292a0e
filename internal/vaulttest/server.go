// Package vaulttest starts a real `vault server -dev` for tests: a random loopback port, a
// random root token, KV v2 at secret/, Transit at transit/, AppRole at approle/ and JWT auth at
// jwt/ (validating JWTs the test mints with its own key pair), and the keygate policy.
//
// A dev server keeps everything in memory: after Stop and StartAgain it is empty again (same
// port and root token, mounts and roles set up anew), so tests rewrite their fixtures.
package vaulttest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"

	"github.com/keygate/keygate/internal/secret"
	"github.com/keygate/keygate/internal/testkit"
)

// Server is one running (or stopped) dev server.
type Server struct {
	bin, addr, token string
	jwtKey           *ecdsa.PrivateKey
	tlsDir           string // with StartTLS: where the server writes its CA (vault-ca.pem)

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
	out    *testkit.SyncBuffer
	client *api.Client
}

// Start starts a dev server and stops it when the test ends. It fails the test (never skips)
// when no vault binary can be found or built.
func Start(t testing.TB) *Server {
	t.Helper()
	s, err := newServer()
	if err != nil {
		t.Fatalf("vaulttest: %v", err)
	}
	t.Cleanup(s.Stop)
	if err := s.run(); err != nil {
		t.Fatalf("vaulttest: %v", err)
	}
	return s
}

// StartTLS is Start with `-dev-tls`: the server listens on https with a certificate for
// 127.0.0.1 and localhost, signed by a CA it writes to CACertFile. Client trusts that CA.
func StartTLS(t testing.TB) *Server {
	t.Helper()
	s, err := newServer()
	if err != nil {
		t.Fatalf("vaulttest: %v", err)
	}
	s.tlsDir = t.TempDir()
	t.Cleanup(s.Stop)
	if err := s.run(); err != nil {
		t.Fatalf("vaulttest: %v", err)
	}
	return s
}

// CACertFile is the CA of a StartTLS server's certificate (PEM); "" for a plain server.
func (s *Server) CACertFile() string {
	if s.tlsDir == "" {
		return ""
	}
	return filepath.Join(s.tlsDir, "vault-ca.pem")
}

func newServer() (*Server, error) {
	bin, err := Binary()
	if err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	tok := make([]byte, 16)
	_, _ = rand.Read(tok)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	return &Server{bin: bin, addr: fmt.Sprintf("127.0.0.1:%d", port), token: "root-" + hex.EncodeToString(tok), jwtKey: key}, nil
}

// Addr is the server's address as a URL, e.g. http://127.0.0.1:40123 (https with StartTLS).
func (s *Server) Addr() string {
	if s.tlsDir != "" {
		return "https://" + s.addr
	}
	return "http://" + s.addr
}

// RootToken is the dev server's root token.
func (s *Server) RootToken() secret.Value { return secret.FromString(s.token) }

// Client is an api client for the server, logged in with the root token.
func (s *Server) Client() *api.Client {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.client
}

// run starts the process, waits for it to answer, and sets up mounts, auth and policy.
func (s *Server) run() error {
	s.mu.Lock()
	if s.cmd != nil {
		s.mu.Unlock()
		return fmt.Errorf("vault dev server at %s is already running", s.addr)
	}
	s.out = &testkit.SyncBuffer{Limit: 1 << 20}
	args := []string{"server", "-dev", "-dev-listen-address=" + s.addr,
		"-dev-root-token-id=" + s.token, "-dev-no-store-token", "-log-level=warn"}
	if s.tlsDir != "" {
		args = append(args, "-dev-tls", "-dev-tls-cert-dir="+s.tlsDir)
		_ = os.Remove(s.CACertFile()) // StartAgain: a new CA; waitHealthy must not poll with the old one
	}
	cmd := exec.Command(s.bin, args...)
	cmd.Env = []string{"HOME=" + os.TempDir(), "PATH=/usr/bin:/bin", "VAULT_DISABLE_MLOCK=true"}
	cmd.Stdout, cmd.Stderr = s.out, s.out
	cmd.SysProcAttr = testkit.ProcAttr()
	if err := cmd.Start(); err != nil {
		s.mu.Unlock()
		return fmt.Errorf("start %s: %w", s.bin, err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	s.cmd, s.exited = cmd, exited
	cfg := api.DefaultConfig()
	cfg.Address = s.Addr()
	cfg.MaxRetries = 0
	c, err := api.NewClient(cfg)
	if err != nil {
		s.mu.Unlock()
		return err
	}
	c.SetToken(s.token)
	s.client = c
	s.mu.Unlock()

	if err := s.waitHealthy(exited, 60*time.Second); err != nil {
		s.Stop()
		return err
	}
	if s.tlsDir != "" {
		if err := s.trustCA(); err != nil {
			s.Stop()
			return err
		}
	}
	if err := s.setup(); err != nil {
		s.Stop()
		return fmt.Errorf("set up dev server: %w", err)
	}
	return nil
}

func (s *Server) waitHealthy(exited <-chan struct{}, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	hc := &http.Client{Timeout: time.Second}
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return fmt.Errorf("vault dev server exited at start:\n%s", s.logs())
		default:
		}
		if s.tlsDir != "" && hc.Transport == nil {
			// The server writes its CA as it starts; poll with it once it is there.
			pem, err := os.ReadFile(s.CACertFile())
			pool := x509.NewCertPool()
			if err != nil || !pool.AppendCertsFromPEM(pem) {
				time.Sleep(50 * time.Millisecond)
				continue
			}
			hc.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}
		}
		resp, err := hc.Get(s.Addr() + "/v1/sys/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("vault dev server at %s not healthy after %s:\n%s", s.addr, limit, s.logs())
}

// trustCA makes Client verify the TLS server's certificate with the CA it wrote.
func (s *Server) trustCA() error {
	cfg := api.DefaultConfig()
	cfg.Address = s.Addr()
	cfg.MaxRetries = 0
	if err := cfg.ConfigureTLS(&api.TLSConfig{CACert: s.CACertFile()}); err != nil {
		return fmt.Errorf("trust the dev server's CA: %w", err)
	}
	c, err := api.NewClient(cfg)
	if err != nil {
		return err
	}
	c.SetToken(s.token)
	s.mu.Lock()
	s.client = c
	s.mu.Unlock()
	return nil
}

// Stop kills the server (dev mode: its data is gone). Safe to call twice; also resumes a
// paused server first.
func (s *Server) Stop() {
	s.mu.Lock()
	cmd, exited := s.cmd, s.exited
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGCONT)
	_ = cmd.Process.Kill()
	<-exited
}

// StartAgain starts a stopped server on the same port with the same root token. It is empty:
// rewrite fixtures. Fails the test on error.
func (s *Server) StartAgain(t testing.TB) {
	t.Helper()
	if err := s.run(); err != nil {
		t.Fatalf("vaulttest: restart: %v", err)
	}
}

// Pause stops the process with SIGSTOP: connections are accepted by the kernel but never
// answered, like a hung Vault. Resume undoes it (Stop does too).
//
// kill(2) returns once the signal is queued, not once every thread has stopped: on a loaded
// machine the server could still answer a request sent right after. Pause waits until the
// kernel reports every thread stopped, so a test's next call really meets a hung Vault.
func (s *Server) Pause(t testing.TB) {
	t.Helper()
	pid := s.signal(t, syscall.SIGSTOP)
	for deadline := time.Now().Add(5 * time.Second); !allThreadsStopped(pid); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("vaulttest: the server did not stop within 5s of SIGSTOP")
		}
	}
}

// allThreadsStopped reports whether /proc says every thread of pid is stopped (state T). Where
// /proc cannot be read it reports true: there is nothing better to wait for.
func allThreadsStopped(pid int) bool {
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		return true
	}
	for _, task := range tasks {
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/stat", pid, task.Name()))
		if err != nil {
			continue // the thread exited
		}
		// The state is the field after the command name, which is in parentheses and may
		// itself contain spaces and parentheses.
		i := bytes.LastIndexByte(stat, ')')
		if i < 0 || i+2 >= len(stat) || stat[i+2] != 'T' {
			return false
		}
	}
	return true
}

// Resume continues a paused server.
func (s *Server) Resume(t testing.TB) { s.signal(t, syscall.SIGCONT) }

// signal sends sig to the server and returns its pid.
func (s *Server) signal(t testing.TB, sig syscall.Signal) int {
	t.Helper()
	s.mu.Lock()
	cmd := s.cmd
	s.mu.Unlock()
	if cmd == nil {
		t.Fatalf("vaulttest: server is not running")
	}
	if err := cmd.Process.Signal(sig); err != nil {
		t.Fatalf("vaulttest: signal %v: %v", sig, err)
	}
	return cmd.Process.Pid
}

// logs is the server output with the root token and unseal key removed.
func (s *Server) logs() string {
	var b strings.Builder
	for _, line := range strings.Split(s.out.String(), "\n") {
		if strings.Contains(line, "Unseal Key") {
			continue
		}
		b.WriteString(strings.ReplaceAll(line, s.token, secret.Redacted) + "\n")
	}
	return tail(b.String(), 4000)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
