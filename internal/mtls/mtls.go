// Package mtls is mutual TLS on keygate's own listeners (ext_proc, xDS, admin).
//
// Whatever reaches the ext_proc port gets requests signed with the providers' keys, whatever
// reaches xDS learns every provider, and the admin API takes bearer tokens: beyond loopback each
// needs to know who is calling. A Server verifies every client certificate against a CA and an
// allow-list of identities (SPIFFE IDs or DNS names), on every connection. Certificate, key and
// CA come from files that are re-read when they change, because cert-manager and SPIRE rotate
// them in place and a restart to pick them up would drop every stream.
package mtls

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/keygate/keygate/internal/config"
)

// Files are the PEM files a Server serves with.
type Files struct {
	Cert, Key, ClientCA string
}

// ReloadCheck is how often, at most, a handshake looks at whether the files changed.
const ReloadCheck = time.Second

// Server is the TLS side of one listener. Its Config is safe for concurrent handshakes.
type Server struct {
	name    string // the listener, for errors and logs
	files   Files
	allowed []config.ClientID
	log     *slog.Logger

	cur       atomic.Pointer[material]
	mu        sync.Mutex // one reload at a time
	lastCheck atomic.Int64
}

// material is one consistent read of the files.
type material struct {
	cert  tls.Certificate
	pool  *x509.CertPool
	stamp string // what the files looked like when read (size and modification time)
}

// New reads the files once (an error names the file at fault) and returns a Server that
// accepts only clients whose certificate chains to the CA and names one of allowed.
func New(listener string, files Files, allowed []string, log *slog.Logger) (*Server, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{name: listener, files: files, log: log}
	for _, a := range allowed {
		id, err := config.ParseClientID(a)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", listener, err)
		}
		s.allowed = append(s.allowed, id)
	}
	if len(s.allowed) == 0 {
		return nil, fmt.Errorf("%s: no client identity is allowed", listener)
	}
	m, err := load(files)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", listener, err)
	}
	s.cur.Store(m)
	s.lastCheck.Store(time.Now().UnixNano())
	return s, nil
}

// Config is the tls.Config to serve with: TLS 1.2 at least, a client certificate required and
// verified, then its identity checked against the allow-list.
func (s *Server) Config(nextProtos ...string) *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		NextProtos: nextProtos,
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
			m := s.material()
			return &tls.Config{
				MinVersion:       tls.VersionTLS12,
				NextProtos:       nextProtos,
				Certificates:     []tls.Certificate{m.cert},
				ClientAuth:       tls.RequireAndVerifyClientCert,
				ClientCAs:        m.pool,
				VerifyConnection: s.verifyIdentity,
			}, nil
		},
	}
}

// verifyIdentity runs after the chain is verified: the leaf must name an allowed identity.
func (s *Server) verifyIdentity(cs tls.ConnectionState) error {
	if len(cs.PeerCertificates) == 0 {
		return errors.New("mtls: no client certificate")
	}
	leaf := cs.PeerCertificates[0]
	if Allowed(leaf, s.allowed) {
		return nil
	}
	err := fmt.Errorf("mtls: %s: client certificate (subject %q) names no allowed identity", s.name, leaf.Subject.String())
	s.log.Warn("client refused", "listener", s.name, "subject", leaf.Subject.String(), "uris", uriStrings(leaf.URIs), "dns", leaf.DNSNames)
	return err
}

// Allowed reports whether the certificate carries one of the identities, compared exactly.
func Allowed(c *x509.Certificate, ids []config.ClientID) bool {
	for _, id := range ids {
		switch {
		case id.URI != "" && slices.ContainsFunc(c.URIs, func(u *url.URL) bool { return u.String() == id.URI }):
			return true
		case id.DNS != "" && slices.Contains(c.DNSNames, id.DNS):
			return true
		}
	}
	return false
}

func uriStrings(us []*url.URL) []string {
	out := make([]string, len(us))
	for i, u := range us {
		out[i] = u.String()
	}
	return out
}

// material returns the current files, re-reading them when they changed (checked at most once
// per ReloadCheck). A failed read keeps the previous material: a rotation caught half-written
// (new certificate, old key) must not take the listener down; the next check tries again.
func (s *Server) material() *material {
	now := time.Now().UnixNano()
	last := s.lastCheck.Load()
	if now-last < int64(ReloadCheck) || !s.lastCheck.CompareAndSwap(last, now) {
		return s.cur.Load()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cur := s.cur.Load()
	st, err := stamp(s.files)
	if err != nil || st == cur.stamp {
		return cur
	}
	m, err := load(s.files)
	if err != nil {
		s.log.Warn("tls files changed but could not be read; serving the previous ones", "listener", s.name, "err", err)
		return cur
	}
	s.cur.Store(m)
	s.log.Info("tls files reloaded", "listener", s.name, "not_after", m.cert.Leaf.NotAfter)
	return m
}

func load(f Files) (*material, error) {
	st, err := stamp(f)
	if err != nil {
		return nil, err
	}
	cert, err := tls.LoadX509KeyPair(f.Cert, f.Key)
	if err != nil {
		return nil, fmt.Errorf("certificate %s with key %s: %w", f.Cert, f.Key, err)
	}
	ca, err := os.ReadFile(f.ClientCA)
	if err != nil {
		return nil, fmt.Errorf("client CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(ca) {
		return nil, fmt.Errorf("client CA %s holds no PEM certificate", f.ClientCA)
	}
	return &material{cert: cert, pool: pool, stamp: st}, nil
}

// stamp is the size and modification time of each file, resolving symlinks (Kubernetes
// swaps a ..data symlink when it updates a mounted Secret).
func stamp(f Files) (string, error) {
	out := ""
	for _, p := range []string{f.Cert, f.Key, f.ClientCA} {
		fi, err := os.Stat(p)
		if err != nil {
			return "", err
		}
		out += fmt.Sprintf("%d:%d;", fi.Size(), fi.ModTime().UnixNano())
	}
	return out, nil
}
