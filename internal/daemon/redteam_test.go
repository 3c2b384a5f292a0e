package daemon

import (
	"net"
	"testing"
	"time"
)

// Red team: a network client that reaches keygate's mTLS gRPC ports (ext_proc, xDS) but has no
// certificate opens TCP connections and never starts the TLS handshake. gRPC keeps a connection
// in its handshake for ConnectionTimeout (default 120 s), and nothing caps these listeners, so
// such a client holds one file descriptor per connection for two minutes, enough to exhaust
// the process's descriptors (the admin flood of issue 25, moved to the ports that need no
// token to connect to). An unauthenticated connection must be cut within a few seconds.
func TestRedTeamSilentHandshakeIsCutOnGRPCPorts(t *testing.T) {
	w := startMTLS(t, keygateID)
	for name, addr := range map[string]string{"ext_proc": w.d.addrs.ExtProc, "xds": w.d.addrs.XDS} {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		start := time.Now()
		_ = c.SetReadDeadline(start.Add(HandshakeTimeout + 10*time.Second))
		var b [1]byte
		_, err = c.Read(b[:])
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Errorf("%s: a silent connection was still open after %v", name, time.Since(start).Round(time.Second))
		}
	}
}
