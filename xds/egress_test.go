package xds

import (
	"errors"
	"strings"
	"testing"

	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"

	"github.com/keygate/keygate/internal/config"
)

func egressConfig(t *testing.T, egress string) *config.File {
	t.Helper()
	f, err := config.Parse([]byte(egress + `
providers:
  - name: maps
    hosts: [maps.egress.local]
    upstream: {url: "https://maps.example.com/v1"}
    secrets: {key: secret/keygate/maps#key}
    signing: [{scheme: static, secret: key, in: query, name: key}]
`))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// TestEgressListenerSettings: egress.address/port move the listener; egress.tls with a client
// CA makes Envoy require and verify a certificate, so the SPIFFE ID tenancy reads is proven.
func TestEgressListenerSettings(t *testing.T) {
	f := egressConfig(t, `
egress:
  address: 127.0.0.1
  port: 8443
  tls: {cert_file: /e/tls.crt, key_file: /e/tls.key, client_ca_file: /ca/ca.crt}`)
	if err := f.Validate(); err != nil {
		t.Fatal(err)
	}
	r, err := Build(f, Options{})
	if err != nil {
		t.Fatal(err)
	}
	l := r.Listeners[0]
	sa := l.GetAddress().GetSocketAddress()
	if sa.GetAddress() != "127.0.0.1" || sa.GetPortValue() != 8443 {
		t.Fatalf("listener address %s:%d, want 127.0.0.1:8443", sa.GetAddress(), sa.GetPortValue())
	}
	for _, fc := range l.GetFilterChains() {
		ctx := &tlsv3.DownstreamTlsContext{}
		if err := fc.GetTransportSocket().GetTypedConfig().UnmarshalTo(ctx); err != nil {
			t.Fatalf("filter chain without a TLS transport socket: %v", err)
		}
		if !ctx.GetRequireClientCertificate().GetValue() {
			t.Fatal("client certificate not required with egress.tls.client_ca_file")
		}
		if got := ctx.GetCommonTlsContext().GetValidationContextSdsSecretConfig().GetName(); got != EgressCASecret {
			t.Fatalf("validation context from %q, want %q", got, EgressCASecret)
		}
	}
	names := map[string]bool{}
	for _, s := range r.Secrets {
		names[s.GetName()] = true
	}
	if !names[EgressCertSecret] || !names[EgressCASecret] {
		t.Fatalf("secrets %v, want %s and %s", names, EgressCertSecret, EgressCASecret)
	}

	// Options set by the caller (keygate dev, tests) win over the config.
	r, err = Build(f, Options{ListenerPort: 9000})
	if err != nil {
		t.Fatal(err)
	}
	if p := r.Listeners[0].GetAddress().GetSocketAddress().GetPortValue(); p != 9000 {
		t.Fatalf("Options.ListenerPort lost to the config: port %d", p)
	}
}

// TestEgressTLSWithoutClientCA: server-only TLS neither requires a certificate nor trusts one.
func TestEgressTLSWithoutClientCA(t *testing.T) {
	r, err := Build(egressConfig(t, `egress: {tls: {cert_file: /e/tls.crt, key_file: /e/tls.key}}`), Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := &tlsv3.DownstreamTlsContext{}
	if err := r.Listeners[0].GetFilterChains()[0].GetTransportSocket().GetTypedConfig().UnmarshalTo(ctx); err != nil {
		t.Fatal(err)
	}
	if ctx.GetRequireClientCertificate().GetValue() || ctx.GetCommonTlsContext().GetValidationContextType() != nil {
		t.Fatal("server-only TLS asks for client certificates")
	}
	if len(r.Secrets) != 1 || r.Secrets[0].GetName() != EgressCertSecret {
		t.Fatalf("secrets %v, want only %s", r.Secrets, EgressCertSecret)
	}
	sa := r.Listeners[0].GetAddress().GetSocketAddress()
	if sa.GetAddress() != DefaultListenerAddress || sa.GetPortValue() != DefaultListenerPort {
		t.Fatalf("defaults lost: %s:%d", sa.GetAddress(), sa.GetPortValue())
	}
}

// TestEgressBadSettings: each wrong value is refused by Validate with its field path, and an
// egress.tls missing its key never builds a listener that would fall back to plaintext.
func TestEgressBadSettings(t *testing.T) {
	for name, tc := range map[string]struct{ egress, path string }{
		"hostname":      {`egress: {address: envoy.local}`, "egress.address"},
		"port too big":  {`egress: {port: 70000}`, "egress.port"},
		"negative port": {`egress: {port: -1}`, "egress.port"},
		"no key":        {`egress: {tls: {cert_file: /e/tls.crt}}`, "egress.tls.key_file"},
		"no cert":       {`egress: {tls: {key_file: /e/tls.key, client_ca_file: /ca.crt}}`, "egress.tls.cert_file"},
	} {
		t.Run(name, func(t *testing.T) {
			f := egressConfig(t, tc.egress)
			err := f.Validate()
			var fe *config.FieldError
			if !errors.As(err, &fe) || !strings.Contains(err.Error(), tc.path+":") {
				t.Fatalf("Validate = %v, want an error naming %s", err, tc.path)
			}
		})
	}
	// Build alone (no Validate) still refuses a TLS listener without its key: Envoy's own
	// rules on the SDS-named certificate, not a plaintext listener.
	_, err := Build(egressConfig(t, `egress: {tls: {cert_file: /e/tls.crt}}`), Options{})
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("Build = %v, want ErrInvalid", err)
	}
}
