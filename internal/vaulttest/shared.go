package vaulttest

import (
	"sync"
	"testing"
)

var (
	sharedOnce sync.Once
	shared     *Server
	sharedErr  error
)

// Shared returns one dev server for the whole test binary, started on first use (each start
// costs seconds). Do not Stop or Pause it: outage tests use Start. Stop it from TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(vaulttest.Main(m)) }
//
// Without that, the server dies with the test binary (parent-death signal on Linux).
func Shared(t testing.TB) *Server {
	t.Helper()
	sharedOnce.Do(func() {
		shared, sharedErr = newServer()
		if sharedErr == nil {
			if sharedErr = shared.run(); sharedErr != nil {
				shared = nil
			}
		}
	})
	if sharedErr != nil {
		t.Fatalf("vaulttest: shared server: %v", sharedErr)
	}
	return shared
}

// Main runs the tests and then stops the shared server, returning the exit code.
func Main(m *testing.M) int {
	code := m.Run()
	if shared != nil {
		shared.Stop()
	}
	return code
}
