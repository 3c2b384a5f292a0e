package daemon

import (
	"context"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// TestAdminConnectionFloodLeavesProbesAnswering: 300 idle connections from one address do not
// lock out /readyz from another address nor ext_proc's health: the admin port caps connections
// per peer and in all, and cuts idle ones.
func TestAdminConnectionFloodLeavesProbesAnswering(t *testing.T) {
	dir := t.TempDir()
	cfg := strings.NewReplacer("UPSTREAM", "http://127.0.0.1:9", "PREFIX", "v1").Replace(testConfig)
	_ = os.WriteFile(filepath.Join(dir, "keygate.yaml"), []byte(cfg), 0o600)
	_ = os.WriteFile(filepath.Join(dir, "keys.yaml"), []byte("secret/keygate/api:\n  key: k\n"), 0o600)
	d := startDaemon(t, dir)

	flooder := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}, Timeout: time.Second}
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range 300 {
		c, err := flooder.Dial("tcp", d.addrs.Admin)
		if err != nil {
			break // the backlog is full: that is the cap working
		}
		conns = append(conns, c)
	}
	kept := 0
	for _, c := range conns {
		_ = c.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
		if _, err := c.Read(make([]byte, 1)); err != nil && strings.Contains(err.Error(), "timeout") {
			kept++ // still open: the server holds it
		}
	}
	if kept > AdminMaxPerPeer {
		t.Errorf("the admin port holds %d idle connections from one address, want at most %d", kept, AdminMaxPerPeer)
	}

	client := &http.Client{Timeout: 2 * time.Second}
	resp, err := client.Get("http://" + d.addrs.Admin + "/readyz")
	if err != nil {
		t.Fatalf("/readyz during the flood: %v", err)
	}
	resp.Body.Close()
	conn, err := grpc.NewClient(d.addrs.ExtProc, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if _, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{}); err != nil {
		t.Fatalf("ext_proc health during the flood: %v", err)
	}
	t.Logf("flood: %d connections opened, %d held by the server; /readyz %d", len(conns), kept, resp.StatusCode)
}
