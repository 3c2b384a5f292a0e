package daemon

import (
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
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

// Red team: the admin port's per-peer cap (32) is per source address, and the total cap (256)
// blocks Accept for everyone once reached. Nine clients (nine pods, or one host's loopback
// aliases 127.0.0.2-10) hold 32 idle connections each, reconnecting as the server cuts them:
// /readyz and every admin call wait behind them, so a kubelet probe fails and the pod is taken
// out of service. At the cap, a new connection now evicts the oldest one without a request.
func TestRedTeamAdminFloodFromManyAddressesBlocksReadyz(t *testing.T) {
	dir := t.TempDir()
	cfg := strings.NewReplacer("UPSTREAM", "http://127.0.0.1:9", "PREFIX", "v1").Replace(testConfig)
	_ = os.WriteFile(filepath.Join(dir, "keygate.yaml"), []byte(cfg), 0o600)
	_ = os.WriteFile(filepath.Join(dir, "keys.yaml"), []byte("secret/keygate/api:\n  key: k\n"), 0o600)
	d := startDaemon(t, dir)
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for i := 2; i <= 10; i++ {
		dialer := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(i))}, Timeout: time.Second}
		for range AdminMaxPerPeer {
			c, err := dialer.Dial("tcp", d.addrs.Admin)
			if err != nil {
				break
			}
			conns = append(conns, c)
		}
	}
	client := &http.Client{Timeout: 2 * time.Second}
	resp, err := client.Get("http://" + d.addrs.Admin + "/readyz")
	if err != nil {
		t.Fatalf("/readyz while %d idle connections from 9 addresses are open: %v", len(conns), err)
	}
	resp.Body.Close()
}
