package emu

import (
	"encoding/pem"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
)

// TestXDS_TrustedCAFileVerifies: trusted_ca given as a file (how keygate's xDS writes it) makes
// the emulator verify the upstream's certificate, as Envoy does; a file Envoy cannot read makes
// the cluster invalid; without trusted_ca Envoy does not verify.
func TestXDS_TrustedCAFileVerifies(t *testing.T) {
	srv := httptest.NewTLSServer(nil)
	defer srv.Close()
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	utc := func(ca *corev3.DataSource) *tlsv3.UpstreamTlsContext {
		return &tlsv3.UpstreamTlsContext{Sni: "example.com", CommonTlsContext: &tlsv3.CommonTlsContext{
			ValidationContextType: &tlsv3.CommonTlsContext_ValidationContext{ValidationContext: &tlsv3.CertificateValidationContext{TrustedCa: ca}}}}
	}
	tc, err := upstreamTLS(utc(&corev3.DataSource{Specifier: &corev3.DataSource_Filename{Filename: caFile}}))
	if err != nil || tc.InsecureSkipVerify || tc.RootCAs == nil || tc.ServerName != "example.com" {
		t.Fatalf("trusted_ca file: %+v, %v; want verification against it", tc, err)
	}
	if _, err := upstreamTLS(utc(&corev3.DataSource{Specifier: &corev3.DataSource_Filename{Filename: caFile + ".missing"}})); err == nil {
		t.Fatal("an unreadable trusted_ca file was accepted")
	}
	if tc, err := upstreamTLS(&tlsv3.UpstreamTlsContext{}); err != nil || !tc.InsecureSkipVerify {
		t.Fatalf("no trusted_ca: %+v, %v; want no verification, as Envoy", tc, err)
	}
}
