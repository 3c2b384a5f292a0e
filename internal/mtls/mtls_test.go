package mtls

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keygate/keygate/internal/testkit"
)

const (
	envoyID = "spiffe://cluster.local/ns/egress/sa/envoy"
	opsDNS  = "ops.keygate.internal"
)

// serve runs a TLS listener on a free loopback port that answers "ok" to every connection.
func serve(t *testing.T, s *Server) string {
	t.Helper()
	l, err := tls.Listen("tcp", "127.0.0.1:0", s.Config())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				if err := c.(*tls.Conn).Handshake(); err == nil {
					_, _ = c.Write([]byte("ok"))
				}
			}()
		}
	}()
	return l.Addr().String()
}

// dial connects as a client; it returns the server's leaf serial and nil when the server
// accepted the client (it wrote "ok"), or the error that ended the exchange.
func dial(addr string, cfg *tls.Config) (string, error) {
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 2 * time.Second}, "tcp", addr, cfg)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	b, err := io.ReadAll(c) // TLS 1.3: a refused client certificate surfaces on the first read
	if string(b) != "ok" {
		if err == nil {
			err = errors.New("connection closed without an answer")
		}
		return "", err
	}
	return c.ConnectionState().PeerCertificates[0].SerialNumber.String(), nil
}

type fixture struct {
	ca, other  *testkit.CA
	dir        string
	srv        *Server
	addr       string
	serverLeaf testkit.Leaf
}

func newFixture(t *testing.T) *fixture {
	f := &fixture{ca: testkit.NewCA(t, "keygate test CA"), other: testkit.NewCA(t, "another CA"), dir: filepath.Join(t.TempDir(), "tls")}
	f.serverLeaf = f.ca.Issue(t, "keygate", "spiffe://cluster.local/ns/egress/sa/keygate", "127.0.0.1")
	cert, key, ca := testkit.WriteFiles(t, f.dir, f.serverLeaf, f.ca.PEM)
	var err error
	f.srv, err = New("ext_proc", Files{Cert: cert, Key: key, ClientCA: ca}, []string{envoyID, "dns:" + opsDNS}, nil)
	if err != nil {
		t.Fatal(err)
	}
	f.addr = serve(t, f.srv)
	return f
}

func (f *fixture) client(t *testing.T, certs ...tls.Certificate) *tls.Config {
	pool := x509.NewCertPool()
	pool.AddCert(f.ca.Cert)
	return &tls.Config{RootCAs: pool, ServerName: "127.0.0.1", Certificates: certs, MinVersion: tls.VersionTLS12}
}

func TestClientsAreVerifiedOnEveryConnection(t *testing.T) {
	f := newFixture(t)
	for _, c := range []struct {
		name   string
		cfg    func() *tls.Config
		accept bool
	}{
		{"allowed SPIFFE ID", func() *tls.Config { return f.client(t, f.ca.Issue(t, "envoy", envoyID).TLS(t)) }, true},
		{"allowed DNS name", func() *tls.Config { return f.client(t, f.ca.Issue(t, "ops", opsDNS).TLS(t)) }, true},
		{"no client certificate", func() *tls.Config { return f.client(t) }, false},
		{"certificate from another CA naming an allowed ID", func() *tls.Config {
			return f.client(t, f.other.Issue(t, "envoy", envoyID).TLS(t))
		}, false},
		{"identity not on the allow-list", func() *tls.Config {
			return f.client(t, f.ca.Issue(t, "intruder", "spiffe://cluster.local/ns/default/sa/web").TLS(t))
		}, false},
		{"allowed ID as a prefix only", func() *tls.Config {
			return f.client(t, f.ca.Issue(t, "envoy", envoyID+"/extra").TLS(t))
		}, false},
		{"allowed DNS name as a URI", func() *tls.Config {
			return f.client(t, f.ca.Issue(t, "ops", "spiffe://"+opsDNS).TLS(t))
		}, false},
		{"allowed DNS name in the common name only", func() *tls.Config { return f.client(t, f.ca.Issue(t, opsDNS).TLS(t)) }, false},
		{"TLS 1.1", func() *tls.Config {
			c := f.client(t, f.ca.Issue(t, "envoy", envoyID).TLS(t))
			c.MinVersion, c.MaxVersion = tls.VersionTLS10, tls.VersionTLS11
			return c
		}, false},
	} {
		_, err := dial(f.addr, c.cfg())
		if (err == nil) != c.accept {
			t.Errorf("%s: accepted=%v (err %v), want %v", c.name, err == nil, err, c.accept)
		}
	}
}

// cert-manager and SPIRE rewrite the files in place: a new server certificate and a new client
// CA are served without a restart, and a half-written rotation keeps the old ones.
func TestRotatedFilesArePickedUp(t *testing.T) {
	f := newFixture(t)
	envoy := f.ca.Issue(t, "envoy", envoyID).TLS(t)
	before, err := dial(f.addr, f.client(t, envoy))
	if err != nil || before != f.serverLeaf.Serial.String() {
		t.Fatalf("before rotation: serial %s, err %v", before, err)
	}

	// A broken rotation (a key that does not match the certificate) keeps serving the old pair.
	next := f.ca.Issue(t, "keygate", "spiffe://cluster.local/ns/egress/sa/keygate", "127.0.0.1")
	broken := next
	broken.KeyPEM = f.ca.Issue(t, "x").KeyPEM
	testkit.WriteFiles(t, f.dir, broken, f.ca.PEM)
	time.Sleep(ReloadCheck + 100*time.Millisecond)
	if got, err := dial(f.addr, f.client(t, envoy)); err != nil || got != before {
		t.Fatalf("after a broken rotation: serial %s (err %v), want the old %s still served", got, err, before)
	}

	// A new CA and a new server certificate from it: clients of the new CA are accepted.
	newCA := testkit.NewCA(t, "rotated CA")
	rotated := newCA.Issue(t, "keygate", "spiffe://cluster.local/ns/egress/sa/keygate", "127.0.0.1")
	testkit.WriteFiles(t, f.dir, rotated, newCA.PEM)
	time.Sleep(ReloadCheck + 100*time.Millisecond)
	pool := x509.NewCertPool()
	pool.AddCert(newCA.Cert)
	cfg := &tls.Config{RootCAs: pool, ServerName: "127.0.0.1", Certificates: []tls.Certificate{newCA.Issue(t, "envoy", envoyID).TLS(t)}}
	deadline := time.Now().Add(5 * time.Second)
	for {
		got, err := dial(f.addr, cfg)
		if err == nil && got == rotated.Serial.String() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the rotated certificate and CA were not picked up: serial %s, err %v", got, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if _, err := dial(f.addr, f.client(t, envoy)); err == nil {
		t.Error("a client of the old CA is still accepted after the client CA rotated")
	}
}

func TestNewRefusesWhatCannotWork(t *testing.T) {
	f := newFixture(t)
	cert, key, ca := filepath.Join(f.dir, "tls.crt"), filepath.Join(f.dir, "tls.key"), filepath.Join(f.dir, "ca.crt")
	for _, c := range []struct {
		files   Files
		allowed []string
		want    string
	}{
		{Files{cert, key, ca}, nil, "no client identity"},
		{Files{cert, key, ca}, []string{"envoy"}, "want spiffe://"},
		{Files{cert, filepath.Join(f.dir, "missing.key"), ca}, []string{envoyID}, "missing.key"},
		{Files{cert, key, cert + "x"}, []string{envoyID}, "tls.crtx"},
		{Files{cert, key, key}, []string{envoyID}, "no PEM certificate"},
	} {
		_, err := New("xds", c.files, c.allowed, nil)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "xds: ") {
			t.Errorf("New(%v, %v): %v, want an error naming the listener and %q", c.files, c.allowed, err, c.want)
		}
	}
}
