// Package sdk drives the providers' official SDKs, configured with keygate's placeholder
// credentials, through the Envoy emulator and keygate to fake providers that verify each
// request with an implementation other than keygate's (docs/sdks.md).
package sdk

import (
	"context"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keygate/keygate/internal/devstack"
)

// startStack writes config (with UPSTREAM replaced) and keys to a folder and starts keygate,
// its xDS server and the emulator on free loopback ports.
func startStack(t *testing.T, config, upstream, keys string) *devstack.Stack {
	t.Helper()
	dir := t.TempDir()
	cfg := strings.ReplaceAll(config, "UPSTREAM", upstream)
	if err := os.WriteFile(filepath.Join(dir, "keygate.yaml"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "keys.yaml"), []byte(keys), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := devstack.Start(context.Background(), devstack.Options{ConfigDir: dir})
	if err != nil {
		t.Fatalf("start stack: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// egressClient sends every request to the egress listener whatever host the SDK addresses (the
// egress host names exist only for Envoy's routing), as a service's DNS or sidecar would.
func egressClient(s *devstack.Stack) *http.Client {
	addr := strings.TrimPrefix(s.EgressURL, "http://")
	tr := &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}}
	return &http.Client{Transport: tr}
}
