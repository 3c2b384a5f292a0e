package emu

import (
	"errors"
	"testing"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// TestTLSListenerRefused: Envoy would terminate TLS and require client certificates on a
// listener with a transport socket (keygate's egress.tls); the emulator cannot, so it refuses
// the listener instead of serving its routes in plaintext to callers without certificates.
func TestTLSListenerRefused(t *testing.T) {
	l := xdsListener(t, nil)
	l.FilterChains[0].TransportSocket = &corev3.TransportSocket{Name: "envoy.transport_sockets.tls",
		ConfigType: &corev3.TransportSocket_TypedConfig{TypedConfig: mustAny(t, &tlsv3.DownstreamTlsContext{
			RequireClientCertificate: wrapperspb.Bool(true)})}}
	if _, err := convertListener(l); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("convertListener = %v, want ErrUnsupported", err)
	}
}
