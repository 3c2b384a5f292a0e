package emu

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"os"
	"slices"
	"sort"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
)

// SecretTypeURL is SDS's resource type (secrets over the ADS stream, state of the world).
const SecretTypeURL = "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret"

// sdsNames lists the SDS secrets the clusters' UpstreamTlsContexts name, sorted: Envoy
// subscribes to exactly these (SdsApi per secret name) and warms a cluster until they arrive.
func sdsNames(clusters map[string]*clusterv3.Cluster) []string {
	seen := map[string]bool{}
	for _, c := range clusters {
		utc := clusterTLS(c)
		if utc == nil {
			continue
		}
		ctx := utc.GetCommonTlsContext()
		for _, s := range ctx.GetTlsCertificateSdsSecretConfigs() {
			seen[s.GetName()] = true
		}
		if s := ctx.GetCombinedValidationContext().GetValidationContextSdsSecretConfig(); s != nil {
			seen[s.GetName()] = true
		}
		if s := ctx.GetValidationContextSdsSecretConfig(); s != nil {
			seen[s.GetName()] = true
		}
	}
	out := make([]string, 0, len(seen))
	for n := range seen {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

func clusterTLS(c *clusterv3.Cluster) *tlsv3.UpstreamTlsContext {
	ts := c.GetTransportSocket()
	if ts == nil || ts.GetTypedConfig() == nil {
		return nil
	}
	utc := &tlsv3.UpstreamTlsContext{}
	if ts.GetTypedConfig().UnmarshalTo(utc) != nil {
		return nil
	}
	return utc
}

// usesSDS reports whether a context takes its certificate or validation context from SDS.
func usesSDS(utc *tlsv3.UpstreamTlsContext) bool {
	ctx := utc.GetCommonTlsContext()
	return len(ctx.GetTlsCertificateSdsSecretConfigs()) > 0 || ctx.GetCombinedValidationContext() != nil ||
		ctx.GetValidationContextSdsSecretConfig() != nil
}

// sdsTLS builds the client TLS of an UpstreamTlsContext whose certificate and CA come from
// SDS secrets that name files, as keygate pushes for its ext_proc cluster. Envoy watches the
// files' folders and re-reads them on change; the emulator reads them at each handshake, which
// is the same as seen from a connection. A missing secret is errIncomplete (the cluster warms).
// Verification follows Envoy's DefaultCertValidator: the chain against trusted_ca, then
// match_typed_subject_alt_names (any one matcher).
func sdsTLS(utc *tlsv3.UpstreamTlsContext, secrets map[string]*tlsv3.Secret) (*tls.Config, error) {
	ctx := utc.GetCommonTlsContext()
	var certFile, keyFile string
	for _, ref := range ctx.GetTlsCertificateSdsSecretConfigs() {
		s, ok := secrets[ref.GetName()]
		if !ok {
			return nil, errIncomplete
		}
		c := s.GetTlsCertificate()
		if c == nil || c.GetCertificateChain().GetFilename() == "" || c.GetPrivateKey().GetFilename() == "" {
			return nil, fmt.Errorf("secret %q: want tls_certificate with certificate_chain and private_key files", ref.GetName())
		}
		certFile, keyFile = c.GetCertificateChain().GetFilename(), c.GetPrivateKey().GetFilename()
	}
	combined := ctx.GetCombinedValidationContext()
	var caFile string
	var sans []*tlsv3.SubjectAltNameMatcher
	if combined != nil {
		sans = combined.GetDefaultValidationContext().GetMatchTypedSubjectAltNames()
		ref := combined.GetValidationContextSdsSecretConfig()
		s, ok := secrets[ref.GetName()]
		if !ok {
			return nil, errIncomplete
		}
		if caFile = s.GetValidationContext().GetTrustedCa().GetFilename(); caFile == "" {
			return nil, fmt.Errorf("secret %q: want validation_context with a trusted_ca file", ref.GetName())
		}
	}
	tc := &tls.Config{ServerName: utc.GetSni(), MinVersion: tls.VersionTLS12, NextProtos: ctx.GetAlpnProtocols()}
	if certFile != "" {
		tc.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			c, err := tls.LoadX509KeyPair(certFile, keyFile)
			return &c, err
		}
	}
	if caFile != "" {
		tc.InsecureSkipVerify = true //nolint:gosec // verified below against the freshly read CA, as Envoy does
		tc.VerifyConnection = func(cs tls.ConnectionState) error { return verifyPeer(cs, caFile, sans) }
	}
	return tc, nil
}

func verifyPeer(cs tls.ConnectionState, caFile string, sans []*tlsv3.SubjectAltNameMatcher) error {
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return fmt.Errorf("trusted_ca %s holds no PEM certificate", caFile)
	}
	if len(cs.PeerCertificates) == 0 {
		return errors.New("no server certificate")
	}
	inter := x509.NewCertPool()
	for _, c := range cs.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	leaf := cs.PeerCertificates[0]
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, Intermediates: inter}); err != nil {
		return err
	}
	if len(sans) == 0 {
		return nil
	}
	for _, m := range sans {
		want := m.GetMatcher().GetExact()
		switch m.GetSanType() {
		case tlsv3.SubjectAltNameMatcher_URI:
			if slices.ContainsFunc(leaf.URIs, func(u *url.URL) bool { return u.String() == want }) {
				return nil
			}
		case tlsv3.SubjectAltNameMatcher_DNS:
			if slices.Contains(leaf.DNSNames, want) {
				return nil
			}
		}
	}
	return errors.New("server certificate matches no match_typed_subject_alt_names entry")
}
