package devstack

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/keygate/keygate/internal/admin"
	"github.com/keygate/keygate/internal/app"
	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/internal/daemon"
	"github.com/keygate/keygate/internal/secret"
)

// startServe runs keygate's side exactly as `keygate serve` does (daemon.Run): ext_proc, xDS,
// and the admin API with /metrics and the audit log, one owner of the running config, one log
// line per request. keygate dev uses it, so that what a newcomer tries is what production runs.
// The config it serves is the loaded one with its relative paths made absolute, a private state
// folder, the listen addresses asked for and, when the config has no admin token, a gateway
// admin token made for this run (printed by keygate dev, gone when it stops).
func (s *Stack) startServe(ctx context.Context, opts Options, log *slog.Logger) error {
	f := *s.Config.File // Prepared: relative paths are absolute now
	tmp, err := os.MkdirTemp("", "keygate-serve-")
	if err != nil {
		return err
	}
	s.closers = append(s.closers, func() { _ = os.RemoveAll(tmp) })
	listen := app.ListenOrDefault(f.Listen)
	f.Listen.ExtProc = s.address(opts.ExtProcAddr, listen.ExtProc)
	f.Listen.XDS = s.address(opts.XDSAddr, listen.XDS)
	f.Listen.Admin = s.address(opts.AdminAddr, listen.Admin)
	f.State.Dir = filepath.Join(tmp, "state")
	f.State.AuditFile = ""
	if len(f.Admin.Tokens) == 0 && f.Admin.JWT == nil {
		var raw [24]byte
		if _, err := rand.Read(raw[:]); err != nil {
			return err
		}
		tok := secret.FromString("kgdev_" + base64.RawURLEncoding.EncodeToString(raw[:]))
		f.Admin.Tokens = []config.AdminToken{{Name: "dev", Role: "gateway_admin", Hash: admin.HashToken(tok)}}
		s.AdminToken = tok
	}
	js, err := json.Marshal(&f)
	if err != nil {
		return err
	}
	data, err := yaml.JSONToYAML(js)
	if err != nil {
		return err
	}
	path := filepath.Join(tmp, "keygate.yaml")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return err
	}
	ready, done := make(chan daemon.Addrs, 1), make(chan error, 1)
	runCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	go func() {
		done <- daemon.Run(runCtx, daemon.Options{ConfigPath: path, Logger: log, LogRequests: true,
			DrainTimeout: time.Second, Ready: func(a daemon.Addrs) { ready <- a }})
	}()
	s.closers = append(s.closers, func() { stop(); <-done })
	select {
	case a := <-ready:
		s.ExtProc, s.XDSAddr, s.AdminAddr = a.ExtProc, a.XDS, a.Admin
		return nil
	case err := <-done:
		return fmt.Errorf("keygate serve: %w", err)
	case <-time.After(30 * time.Second):
		return fmt.Errorf("keygate serve did not start within 30s")
	}
}
