package xds

import (
	"path/filepath"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"

	"github.com/keygate/keygate/internal/config"
)

// SDS secret names of Envoy's side of the mTLS connection to keygate's ext_proc server.
const (
	ExtProcClientSecret = "keygate_ext_proc_client"
	ExtProcCASecret     = "keygate_ext_proc_ca"
)

// extProcSecrets are Envoy's client certificate and the CA it trusts keygate with, as SDS
// secrets that name files on Envoy's file system. keygate never reads or carries their bytes;
// Envoy watches the folders (watched_directory: Kubernetes swaps a ..data symlink when a mounted
// Secret rotates) and re-reads them, so a rotated certificate needs no restart and no push.
func extProcSecrets(e *config.EnvoyClientTLS) []*tlsv3.Secret {
	cert := &tlsv3.TlsCertificate{
		CertificateChain: fileSource(e.CertFile),
		PrivateKey:       fileSource(e.KeyFile),
	}
	if dir := filepath.Dir(e.CertFile); dir == filepath.Dir(e.KeyFile) {
		cert.WatchedDirectory = &corev3.WatchedDirectory{Path: dir}
	}
	return []*tlsv3.Secret{
		{Name: ExtProcClientSecret, Type: &tlsv3.Secret_TlsCertificate{TlsCertificate: cert}},
		{Name: ExtProcCASecret, Type: &tlsv3.Secret_ValidationContext{ValidationContext: &tlsv3.CertificateValidationContext{
			TrustedCa:        fileSource(e.CAFile),
			WatchedDirectory: &corev3.WatchedDirectory{Path: filepath.Dir(e.CAFile)},
		}}},
	}
}

// extProcTLS is the ext_proc cluster's UpstreamTlsContext: the client certificate and the CA
// from SDS (over the same ADS stream), and keygate's identity matched exactly in its
// certificate (a URI SAN for a SPIFFE ID, a DNS SAN otherwise).
func extProcTLS(e *config.EnvoyClientTLS) (*tlsv3.UpstreamTlsContext, error) {
	id, err := config.ParseClientID(e.ServerID)
	if err != nil {
		return nil, err
	}
	san := &tlsv3.SubjectAltNameMatcher{SanType: tlsv3.SubjectAltNameMatcher_URI, Matcher: exact(id.URI)}
	sni := e.SNI
	if id.DNS != "" {
		san = &tlsv3.SubjectAltNameMatcher{SanType: tlsv3.SubjectAltNameMatcher_DNS, Matcher: exact(id.DNS)}
		if sni == "" {
			sni = id.DNS
		}
	}
	return &tlsv3.UpstreamTlsContext{
		Sni: sni,
		CommonTlsContext: &tlsv3.CommonTlsContext{
			AlpnProtocols:                  []string{"h2"},
			TlsParams:                      &tlsv3.TlsParameters{TlsMinimumProtocolVersion: tlsv3.TlsParameters_TLSv1_2},
			TlsCertificateSdsSecretConfigs: []*tlsv3.SdsSecretConfig{sdsOverADS(ExtProcClientSecret)},
			ValidationContextType: &tlsv3.CommonTlsContext_CombinedValidationContext{
				CombinedValidationContext: &tlsv3.CommonTlsContext_CombinedCertificateValidationContext{
					DefaultValidationContext:         &tlsv3.CertificateValidationContext{MatchTypedSubjectAltNames: []*tlsv3.SubjectAltNameMatcher{san}},
					ValidationContextSdsSecretConfig: sdsOverADS(ExtProcCASecret),
				},
			},
		},
	}, nil
}

func sdsOverADS(name string) *tlsv3.SdsSecretConfig {
	return &tlsv3.SdsSecretConfig{Name: name, SdsConfig: &corev3.ConfigSource{
		ConfigSourceSpecifier: &corev3.ConfigSource_Ads{Ads: &corev3.AggregatedConfigSource{}},
		ResourceApiVersion:    corev3.ApiVersion_V3,
	}}
}

func fileSource(path string) *corev3.DataSource {
	return &corev3.DataSource{Specifier: &corev3.DataSource_Filename{Filename: path}}
}
