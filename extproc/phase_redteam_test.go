package extproc

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"

	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	"github.com/keygate/keygate/internal/gateway"
	"github.com/keygate/keygate/internal/routing"
)

// remoteListener hands out connections that report a network peer, as a client of the ext_proc
// port from elsewhere than loopback is seen.
type remoteListener struct{ net.Listener }

func (l remoteListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	return remoteConn{c}, err
}

type remoteConn struct{ net.Conn }

func (remoteConn) RemoteAddr() net.Addr { return &net.TCPAddr{IP: net.ParseIP("10.1.2.3"), Port: 4242} }

// phaseClient serves testProcessor's config over real gRPC; remote: the client is seen from the
// network (untrusted), not loopback.
func phaseClient(t *testing.T, remote bool) extprocv3.ExternalProcessorClient {
	t.Helper()
	var h gateway.Holder
	h.Store(testProcessor(t).snap)
	g, _ := NewGRPCServer(NewServer(Options{Snapshots: &h}), 1<<20)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var ln net.Listener = l
	if remote {
		ln = remoteListener{l}
	}
	go func() { _ = g.Serve(ln) }()
	t.Cleanup(g.Stop)
	conn, err := grpc.NewClient(l.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return extprocv3.NewExternalProcessorClient(conn)
}

// phaseOutcome is how a stream with md in its metadata answers a header-only request for hdr
// (no cluster attribute): "client" (the gRPC client refused the spelling), "failed: ..." (the
// stream ended with an error: the upstream phase, or an untrusted peer asking for it),
// "refused" (an immediate response: the ingress phase serves no egress provider), "signed"
// (the downstream phase: the caller's request signed).
func phaseOutcome(t *testing.T, client extprocv3.ExternalProcessorClient, md metadata.MD) string {
	t.Helper()
	stream, err := client.Process(metadata.NewOutgoingContext(context.Background(), md))
	if err != nil {
		return "client"
	}
	defer func() { _ = stream.CloseSend() }()
	if err := stream.Send(requestWith("hdr.local")); err != nil {
		return "client"
	}
	resp, err := stream.Recv()
	switch {
	case err != nil && strings.Contains(err.Error(), "header key") || err != nil && strings.Contains(err.Error(), "metadata"):
		return "client"
	case err != nil && strings.Contains(err.Error(), "untrusted peer"):
		return "failed: untrusted"
	case err != nil:
		return "failed: upstream"
	case resp.GetImmediateResponse() != nil:
		return "refused"
	case sets(resp.GetRequestHeaders().GetResponse().GetHeaderMutation())["x-sig"] == "s":
		return "signed"
	}
	return fmt.Sprint(resp)
}

// TestRedTeamPhaseMetadataSpellings: the phase is gRPC initial metadata, which a client of the
// ext_proc port sets as it likes (Envoy sets it from xds), and streamPhase now reads one key
// (metadata.ValueFromIncomingContext: the exact key, else any key equal under Unicode folding)
// instead of the lower-cased copy of all. Over gRPC's transport (which lower-cases keys and
// refuses any that is not ASCII), whatever the spelling (case, repeated values, both phases at
// once, look-alike letters), the upstream phase, which signs as the provider's tenant with no
// caller credential, is never given to a client from the network, and both phases at once are
// the upstream phase (never the downstream phase's signing without its checks).
func TestRedTeamPhaseMetadataSpellings(t *testing.T) {
	remote, local := phaseClient(t, true), phaseClient(t, false)
	for _, tc := range []struct {
		md             metadata.MD
		network, local string
	}{
		{metadata.MD{}, "signed", "signed"},
		{metadata.MD{routing.PhaseMetadata: {routing.UpstreamPhase}}, "failed: untrusted", "failed: upstream"},
		{metadata.Pairs("X-Keygate-Phase", routing.UpstreamPhase), "failed: untrusted", "failed: upstream"},
		{metadata.MD{"X-Keygate-Phase": {routing.UpstreamPhase}}, "client", "client"},
		{metadata.MD{routing.PhaseMetadata: {routing.IngressPhase, routing.UpstreamPhase}}, "failed: untrusted", "failed: upstream"},
		{metadata.MD{routing.PhaseMetadata: {routing.IngressPhase}}, "refused", "refused"},
		{metadata.MD{routing.PhaseMetadata: {"Upstream"}}, "signed", "signed"},
		{metadata.MD{routing.PhaseMetadata: {"upstream,ingress"}}, "signed", "signed"},
		{metadata.MD{"x-keygate-pha\u017fe": {routing.UpstreamPhase}}, "client", "client"},
		{metadata.MD{"x-\u212aeygate-phase": {routing.UpstreamPhase}}, "client", "client"},
	} {
		if got := phaseOutcome(t, remote, tc.md); got != tc.network {
			t.Errorf("metadata %q from the network: %s, want %s", map[string][]string(tc.md), got, tc.network)
		}
		if got := phaseOutcome(t, local, tc.md); got != tc.local {
			t.Errorf("metadata %q from loopback: %s, want %s", map[string][]string(tc.md), got, tc.local)
		}
	}
}
