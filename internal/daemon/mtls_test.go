package daemon

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/keygate/keygate/envoy/emu"
	"github.com/keygate/keygate/internal/testkit"
)

const (
	keygateID = "spiffe://cluster.local/ns/egress/sa/keygate"
	envoyID   = "spiffe://cluster.local/ns/egress/sa/envoy"
)

// mtlsWorld is a daemon serving every listener in mutual TLS, and the files Envoy would have.
type mtlsWorld struct {
	ca       *testkit.CA
	d        *running
	envoyDir string
	upstream *httptest.Server
	gotKey   chan string
}

func startMTLS(t *testing.T, serverID string) *mtlsWorld {
	t.Helper()
	w := &mtlsWorld{ca: testkit.NewCA(t, "mesh CA"), gotKey: make(chan string, 16)}
	w.upstream = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		w.gotKey <- r.Header.Get("X-Api-Key")
	}))
	t.Cleanup(w.upstream.Close)
	dir := t.TempDir()
	kcert, kkey, kca := testkit.WriteFiles(t, filepath.Join(dir, "keygate-tls"), w.ca.Issue(t, "keygate", keygateID, "127.0.0.1"), w.ca.PEM)
	w.envoyDir = filepath.Join(dir, "envoy-tls")
	ecert, ekey, eca := testkit.WriteFiles(t, w.envoyDir, w.ca.Issue(t, "envoy", envoyID), w.ca.PEM)
	cfg := strings.NewReplacer("UPSTREAM", w.upstream.URL, "PREFIX", "v1").Replace(testConfig) + `
`
	cfg = strings.Replace(cfg, `listen: {ext_proc: "127.0.0.1:0", admin: "127.0.0.1:0", xds: "127.0.0.1:0"}`,
		`listen:
  ext_proc: 127.0.0.1:0
  admin: 127.0.0.1:0
  xds: 127.0.0.1:0
  tls:
    cert_file: `+kcert+`
    key_file: `+kkey+`
    client_ca_file: `+kca+`
    clients: {ext_proc: ["`+envoyID+`"], xds: ["`+envoyID+`"], admin: ["dns:ops.keygate.internal"]}
    envoy: {cert_file: `+ecert+`, key_file: `+ekey+`, ca_file: `+eca+`, server_id: "`+serverID+`"}`, 1)
	for name, data := range map[string]string{"keygate.yaml": cfg, "keys.yaml": "secret/keygate/api:\n  key: mtls-test-key-value\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	w.d = startDaemon(t, dir)
	return w
}

// clientTLS is a client's TLS config trusting the mesh CA; certs are what it presents.
func (w *mtlsWorld) clientTLS(certs ...tls.Certificate) *tls.Config {
	pool := x509.NewCertPool()
	pool.AddCert(w.ca.Cert)
	return &tls.Config{RootCAs: pool, ServerName: "127.0.0.1", Certificates: certs, MinVersion: tls.VersionTLS12}
}

// egress is Envoy: its bootstrap's xds_cluster speaks mTLS with Envoy's certificate; the ext_proc
// cluster and its SDS secrets come from keygate.
func (w *mtlsWorld) egress(t *testing.T) *httptest.Server {
	t.Helper()
	envoyCert, err := tls.LoadX509KeyPair(filepath.Join(w.envoyDir, "tls.crt"), filepath.Join(w.envoyDir, "tls.key"))
	if err != nil {
		t.Fatal(err)
	}
	conn, err := grpc.NewClient(w.d.addrs.XDS, grpc.WithTransportCredentials(credentials.NewTLS(w.clientTLS(envoyCert))))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	t.Cleanup(cancel)
	e, err := emu.NewFromADS(ctx, conn, emu.ADSConfig{NodeID: "mtls-test"})
	if err != nil {
		t.Fatalf("emulator over the daemon's mTLS xDS: %v", err)
	}
	t.Cleanup(func() { _ = e.Close() })
	s := httptest.NewServer(e)
	t.Cleanup(s.Close)
	return s
}

func send(t *testing.T, egress string) int {
	t.Helper()
	req, _ := http.NewRequest("GET", egress+"/x", nil)
	req.Host = "api.egress.local"
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// TestMutualTLSEndToEnd: Envoy (the emulator) configured only by keygate's xDS reaches ext_proc
// in mutual TLS with the certificate keygate's SDS secrets name, and the request is signed.
func TestMutualTLSEndToEnd(t *testing.T) {
	w := startMTLS(t, keygateID)
	egress := w.egress(t)
	if st := send(t, egress.URL); st != http.StatusOK {
		t.Fatalf("request through the mTLS egress: status %d", st)
	}
	if got := <-w.gotKey; got != "mtls-test-key-value" {
		t.Fatalf("the upstream did not get the signed request")
	}
}

// TestMutualTLSRefusesStrangers: each of keygate's gRPC ports refuses, at the handshake or the
// first message, a client without a certificate, with one from another CA, or with an identity
// not on the listener's allow-list; the admin port likewise.
func TestMutualTLSRefusesStrangers(t *testing.T) {
	w := startMTLS(t, keygateID)
	other := testkit.NewCA(t, "other CA")
	cases := []struct {
		name        string
		certs       []tls.Certificate
		grpc, admin bool // refused on the gRPC ports, on the admin port
	}{
		{"no certificate", nil, true, true},
		{"another CA", []tls.Certificate{other.Issue(t, "envoy", envoyID).TLS(t)}, true, true},
		{"identity not allowed", []tls.Certificate{w.ca.Issue(t, "web", "spiffe://cluster.local/ns/default/sa/web").TLS(t)}, true, true},
		{"admin's identity on the gRPC ports", []tls.Certificate{w.ca.Issue(t, "ops", "ops.keygate.internal").TLS(t)}, true, false},
		{"envoy's identity on the admin port", []tls.Certificate{w.ca.Issue(t, "envoy", envoyID).TLS(t)}, false, true},
	}
	for _, c := range cases {
		for _, port := range []struct{ name, addr string }{{"ext_proc", w.d.addrs.ExtProc}, {"xds", w.d.addrs.XDS}} {
			if !c.grpc {
				break
			}
			conn, err := grpc.NewClient(port.addr, grpc.WithTransportCredentials(credentials.NewTLS(w.clientTLS(c.certs...))))
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			_, err = healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
			if port.name == "ext_proc" && err == nil {
				stream, serr := extprocv3.NewExternalProcessorClient(conn).Process(ctx)
				if serr == nil {
					_, err = stream.Recv()
				}
			}
			cancel()
			conn.Close()
			if err == nil {
				t.Errorf("%s: %s accepted the client", c.name, port.name)
			}
		}
		if !c.admin {
			continue
		}
		hc := &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{TLSClientConfig: w.clientTLS(c.certs...)}}
		if resp, err := hc.Get("https://" + w.d.addrs.Admin + "/healthz"); err == nil {
			resp.Body.Close()
			t.Errorf("%s: the admin port answered %d", c.name, resp.StatusCode)
		}
		hc.CloseIdleConnections()
	}
	// The positive controls: the same calls with allowed identities succeed.
	envoy := w.ca.Issue(t, "envoy", envoyID).TLS(t)
	conn, err := grpc.NewClient(w.d.addrs.XDS, grpc.WithTransportCredentials(credentials.NewTLS(w.clientTLS(envoy))))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if _, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{}); err != nil {
		t.Errorf("envoy's certificate on xds: %v", err)
	}
	hc := &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{TLSClientConfig: w.clientTLS(w.ca.Issue(t, "ops", "ops.keygate.internal").TLS(t))}}
	resp, err := hc.Get("https://" + w.d.addrs.Admin + "/healthz")
	if err != nil {
		t.Fatalf("ops certificate on admin: %v", err)
	}
	resp.Body.Close()
}

// TestEnvoyChecksKeygatesIdentity: with a server_id keygate's certificate does not carry, Envoy
// (the emulator, following DefaultCertValidator's SAN match) refuses the ext_proc connection and
// nothing reaches the upstream.
func TestEnvoyChecksKeygatesIdentity(t *testing.T) {
	w := startMTLS(t, "spiffe://cluster.local/ns/egress/sa/impostor")
	egress := w.egress(t)
	if st := send(t, egress.URL); st < 500 {
		t.Fatalf("status %d, want a 5xx: the ext_proc server's identity does not match", st)
	}
	select {
	case <-w.gotKey:
		t.Fatal("a request reached the upstream")
	default:
	}
}

// TestPlaintextBeyondLoopbackRefused: keygate serve will not expose ext_proc or xDS in plaintext
// beyond loopback unless told to, and says why.
func TestPlaintextBeyondLoopbackRefused(t *testing.T) {
	for _, listen := range []string{
		`{ext_proc: "0.0.0.0:0", admin: "127.0.0.1:0", xds: "127.0.0.1:0"}`,
		`{ext_proc: "127.0.0.1:0", admin: "127.0.0.1:0", xds: ":0"}`,
		`{ext_proc: "keygate.svc:0", admin: "127.0.0.1:0", xds: "127.0.0.1:0"}`,
	} {
		dir := t.TempDir()
		cfg := strings.Replace(testConfig, `{ext_proc: "127.0.0.1:0", admin: "127.0.0.1:0", xds: "127.0.0.1:0"}`, listen, 1)
		cfg = strings.NewReplacer("UPSTREAM", "http://127.0.0.1:9", "PREFIX", "v1").Replace(cfg)
		_ = os.WriteFile(filepath.Join(dir, "keygate.yaml"), []byte(cfg), 0o600)
		_ = os.WriteFile(filepath.Join(dir, "keys.yaml"), []byte("secret/keygate/api:\n  key: k\n"), 0o600)
		err := Run(context.Background(), Options{ConfigPath: filepath.Join(dir, "keygate.yaml")})
		if err == nil || !strings.Contains(err.Error(), "listen.tls") || !strings.Contains(err.Error(), "insecure_plaintext") {
			t.Errorf("listen %s: %v, want a refusal naming listen.tls and insecure_plaintext", listen, err)
		}
	}
}
