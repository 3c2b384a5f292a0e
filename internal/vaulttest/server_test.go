package vaulttest_test

import (
	"context"
	"testing"

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
