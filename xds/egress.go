package xds

import (
	"path/filepath"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/keygate/keygate/internal/config"
)

// SDS secret names of the egress listener's TLS (egress.tls).
const (
	EgressCertSecret = "keygate_egress_cert"
	EgressCASecret   = "keygate_egress_client_ca"
)

// withEgress takes the listener's address and port from the config's egress section where the
// caller's Options leave them unset (Options win, then egress, then the defaults).
func (o Options) withEgress(e config.Egress) Options {
	if o.ListenerAddress == "" {
		o.ListenerAddress = e.Address
	}
	if o.ListenerPort == 0 && e.Port > 0 && e.Port <= 65535 {
		o.ListenerPort = uint32(e.Port)
	}
	return o
}

// secureEgress terminates TLS on the egress listener when egress.tls is set, and returns the
// SDS secrets (file names on Envoy's side, never bytes) its transport socket names. With a
// client CA, Envoy requires and verifies the caller's certificate, and the URI SAN it carries
// reaches ext_proc as connection.uri_san_peer_certificate (tenancy.SPIFFEAttribute).
func secureEgress(l *listenerv3.Listener, t *config.EgressTLS) ([]*tlsv3.Secret, error) {
	if t == nil {
		return nil, nil
	}
	cert := &tlsv3.TlsCertificate{CertificateChain: fileSource(t.CertFile), PrivateKey: fileSource(t.KeyFile)}
	if dir := filepath.Dir(t.CertFile); dir == filepath.Dir(t.KeyFile) {
		cert.WatchedDirectory = &corev3.WatchedDirectory{Path: dir}
	}
	secrets := []*tlsv3.Secret{{Name: EgressCertSecret, Type: &tlsv3.Secret_TlsCertificate{TlsCertificate: cert}}}
	ctx := &tlsv3.DownstreamTlsContext{CommonTlsContext: &tlsv3.CommonTlsContext{
		AlpnProtocols:                  []string{"h2", "http/1.1"},
		TlsParams:                      &tlsv3.TlsParameters{TlsMinimumProtocolVersion: tlsv3.TlsParameters_TLSv1_2},
		TlsCertificateSdsSecretConfigs: []*tlsv3.SdsSecretConfig{sdsOverADS(EgressCertSecret)},
	}}
	if t.ClientCAFile != "" {
		secrets = append(secrets, &tlsv3.Secret{Name: EgressCASecret, Type: &tlsv3.Secret_ValidationContext{
			ValidationContext: &tlsv3.CertificateValidationContext{
				TrustedCa:        fileSource(t.ClientCAFile),
				WatchedDirectory: &corev3.WatchedDirectory{Path: filepath.Dir(t.ClientCAFile)},
			}}})
		ctx.RequireClientCertificate = wrapperspb.Bool(true)
		ctx.CommonTlsContext.ValidationContextType = &tlsv3.CommonTlsContext_ValidationContextSdsSecretConfig{
			ValidationContextSdsSecretConfig: sdsOverADS(EgressCASecret),
		}
	}
	ts, err := pack(ctx)
	if err != nil {
		return nil, err
	}
	for _, fc := range l.FilterChains {
		fc.TransportSocket = &corev3.TransportSocket{Name: tlsTransportSocket,
			ConfigType: &corev3.TransportSocket_TypedConfig{TypedConfig: ts}}
	}
	return secrets, nil
}
