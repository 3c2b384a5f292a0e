package vaulttest_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/keygate/keygate/internal/vaulttest"
)

// TestStartStopStartAgain: a restarted dev server answers on the same address with the same
// root token, empty, with mounts and roles set up again.
func TestStartStopStartAgain(t *testing.T) {
	s := vaulttest.Start(t)
	s.WriteKV(t, "keygate/x", map[string]string{"k": "v"})
	s.Stop()
	if _, err := s.Client().Sys().HealthWithContext(context.Background()); err == nil {
		t.Fatal("stopped server still answers")
	}
	s.StartAgain(t)
	got, err := s.Client().KVv2("secret").Get(context.Background(), "keygate/x")
	if err == nil && got != nil {
		t.Fatal("a restarted dev server should be empty")
	}
	if v := s.WriteKV(t, "keygate/x", map[string]string{"k": "v"}); v != 1 {
		t.Fatalf("version after restart: %d", v)
	}
	roleID, _ := s.AppRoleCreds(t)
	if roleID == "" {
		t.Fatal("approle not set up again")
	}
}

// TestPauseMeansHung: once Pause returns, the very next call meets a server that answers
// nothing (it times out), and after Resume it answers again.
func TestPauseMeansHung(t *testing.T) {
	s := vaulttest.Start(t)
	s.Pause(t)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	_, err := s.Client().Sys().HealthWithContext(ctx)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a paused server answered: %v", err)
	}
	s.Resume(t)
	if _, err := s.Client().Sys().HealthWithContext(context.Background()); err != nil {
		t.Fatalf("a resumed server does not answer: %v", err)
	}
}
