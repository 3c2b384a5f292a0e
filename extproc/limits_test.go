package extproc

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"strings"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	filterv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/tap"

	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/internal/gateway"
	"github.com/keygate/keygate/internal/secret"
	"github.com/keygate/keygate/signer"
)

// TestOneRequestPerStream: Envoy opens one stream per request; a second request_headers on a
// stream (a client replaying headers on an old stream) ends the stream in error.
func TestOneRequestPerStream(t *testing.T) {
	p := testProcessor(t)
	if _, err := p.handle(headersMsg("hdr.local", true)); err != nil {
		t.Fatal(err)
	}
	if _, err := p.handle(headersMsg("hdr.local", true)); err == nil {
		t.Fatal("a second request_headers on one stream was answered")
	}
}

// TestRequestUsesTheConfigRunningWhenItArrives: a stream opened before a config change (a
// provider removed, a credential revoked) judges its request by the new config.
func TestRequestUsesTheConfigRunningWhenItArrives(t *testing.T) {
	old := testProcessor(t)
	var h gateway.Holder
	h.Store(old.snap)
	p := newProcessor(context.Background(), old.snap, Options{Snapshots: &h}.withDefaults())
	empty, err := (&gateway.Compiler{}).Compile(mustParse(t, "providers: []\n"), gateway.Meta{})
	if err != nil {
		t.Fatal(err)
	}
	h.Store(empty) // the config changes while the stream is open
	resp, err := p.handle(headersMsg("hdr.local", true))
	if err != nil {
		t.Fatal(err)
	}
	if resp.GetImmediateResponse() == nil {
		t.Fatal("the request was signed under the config its stream opened with, not the running one")
	}
}

// TestStreamsAreBounded: a stream that sends nothing is ended at MaxStreamDuration.
func TestStreamsAreBounded(t *testing.T) {
	_, client := serveTest(t, Options{MaxStreamDuration: 200 * time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	stream, err := client.Process(ctx)
	if err != nil {
		t.Fatal(err)
	}
	expectIdleEnd(t, "an idle stream", stream)
}

// expectIdleEnd waits for the next message of an idle stream: the server must end it with
// DeadlineExceeded at its limit (200 ms in these tests).
func expectIdleEnd(t *testing.T, what string, stream grpc.ClientStream) {
	t.Helper()
	start := time.Now()
	err := stream.RecvMsg(new(extprocv3.ProcessingResponse))
	if status.Code(err) != codes.DeadlineExceeded || time.Since(start) > 3*time.Second {
		t.Errorf("%s: %v after %v, want DeadlineExceeded at its limit", what, err, time.Since(start))
	}
}

// TestStreamsAreBoundedWithoutTheTap: on a gRPC server built without NewGRPCServer's tap,
// Process still ends an idle stream at MaxStreamDuration (its reader goroutine path).
func TestStreamsAreBoundedWithoutTheTap(t *testing.T) {
	var h gateway.Holder
	h.Store(testProcessor(t).snap)
	g := grpc.NewServer()
	extprocv3.RegisterExternalProcessorServer(g, NewServer(Options{Snapshots: &h, MaxStreamDuration: 200 * time.Millisecond}))
	client := extprocv3.NewExternalProcessorClient(serveOn(t, g))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	stream, err := client.Process(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(headersMsg("hdr.local", true)); err != nil {
		t.Fatal(err)
	}
	if resp, err := stream.Recv(); err != nil || resp.GetRequestHeaders() == nil {
		t.Fatalf("headers answer: %v, %v", resp, err)
	}
	expectIdleEnd(t, "an idle stream", stream)
}

// TestStreamsAreBoundedWhateverTheMethodSpelling: the tap recognises a Process stream by its
// full method name. gRPC (server.handleStream) routes only that exact spelling to Process
// today; should another spelling ever reach Process, Process sets the deadline itself. Either
// way an idle stream opened under any spelling is refused or ends at MaxStreamDuration.
func TestStreamsAreBoundedWhateverTheMethodSpelling(t *testing.T) {
	var h gateway.Holder
	h.Store(testProcessor(t).snap)
	g, _ := NewGRPCServer(NewServer(Options{Snapshots: &h, MaxStreamDuration: 200 * time.Millisecond}), 1<<20)
	conn := serveOn(t, g)
	full := extprocv3.ExternalProcessor_Process_FullMethodName
	for _, method := range []string{full, strings.TrimPrefix(full, "/"), "/" + full, full + "/", strings.Replace(full, "/Process", "//Process", 1)} {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		stream, err := conn.NewStream(ctx, &grpc.StreamDesc{ClientStreams: true, ServerStreams: true}, method)
		if err != nil {
			cancel()
			continue // refused
		}
		_ = stream.SendMsg(headersMsg("hdr.local", true))
		resp := new(extprocv3.ProcessingResponse)
		if err := stream.RecvMsg(resp); err != nil {
			cancel()
			continue // not served
		}
		expectIdleEnd(t, "an idle stream opened as "+method, stream)
		cancel()
	}
}

// TestTheTapBoundsOnlyProcessStreams: the deadline is for ext_proc streams; gRPC health
// watches and any other method keep their own lifetime.
func TestTheTapBoundsOnlyProcessStreams(t *testing.T) {
	s := NewServer(Options{MaxStreamDuration: time.Second})
	ctx, err := s.startStream(context.Background(), &tap.Info{FullMethodName: "/grpc.health.v1.Health/Watch"})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := ctx.Deadline(); ok {
		t.Error("a health watch got the ext_proc stream deadline")
	}
	ctx, err = s.startStream(context.Background(), &tap.Info{FullMethodName: extprocv3.ExternalProcessor_Process_FullMethodName})
	if err != nil {
		t.Fatal(err)
	}
	if d, ok := ctx.Deadline(); !ok || time.Until(d) > time.Second {
		t.Errorf("a Process stream's deadline: %v, %v; want within MaxStreamDuration", d, ok)
	}
}

// TestIdentityAttributesOnlyFromTrustedPeers: the caller's SPIFFE ID attribute is taken from a
// stream whose client certificate was verified, or from loopback; from any other peer it is a
// claim and ignored.
func TestIdentityAttributesOnlyFromTrustedPeers(t *testing.T) {
	verified := credentials.TLSInfo{State: tls.ConnectionState{VerifiedChains: [][]*x509.Certificate{{{}}}}}
	for _, c := range []struct {
		name string
		p    *peer.Peer
		want bool
	}{
		{"loopback", &peer.Peer{Addr: &net.TCPAddr{IP: net.ParseIP("127.0.0.1")}}, true},
		{"IPv6 loopback", &peer.Peer{Addr: &net.TCPAddr{IP: net.ParseIP("::1")}}, true},
		{"plaintext from the network", &peer.Peer{Addr: &net.TCPAddr{IP: net.ParseIP("10.1.2.3")}}, false},
		{"TLS without a client certificate", &peer.Peer{Addr: &net.TCPAddr{IP: net.ParseIP("10.1.2.3")}, AuthInfo: credentials.TLSInfo{}}, false},
		{"mTLS, certificate verified", &peer.Peer{Addr: &net.TCPAddr{IP: net.ParseIP("10.1.2.3")}, AuthInfo: verified}, true},
	} {
		if got := trustedPeer(peer.NewContext(context.Background(), c.p)); got != c.want {
			t.Errorf("%s: trusted %v, want %v", c.name, got, c.want)
		}
	}
	if trustedPeer(context.Background()) {
		t.Error("a stream with no peer is trusted")
	}
}

func mustParse(t *testing.T, yaml string) *config.File {
	t.Helper()
	f, err := config.Parse([]byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// TestEnvoyLocalReplyBeforeTheFilterChain: Envoy's connection manager refuses a request before
// decoding it through the filters (a path that fails normalization: 400), and its local reply
// still passes the encoder side: keygate sees response_headers first. Nothing was signed or
// sent; the caller keeps Envoy's status (ConnectionManagerImpl::ActiveStream::decodeHeaders,
// sendLocalReply).
func TestEnvoyLocalReplyBeforeTheFilterChain(t *testing.T) {
	p := testProcessor(t)
	msg := &extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_ResponseHeaders{ResponseHeaders: &extprocv3.HttpHeaders{
		Headers: &corev3.HeaderMap{Headers: []*corev3.HeaderValue{{Key: ":status", RawValue: []byte("400")}}}}}}
	resp, err := p.handle(msg)
	if err != nil {
		t.Fatalf("a local reply before the request: %v (the stream would end in error: 500, not 400)", err)
	}
	if got := resp.GetImmediateResponse().GetStatus().GetCode(); int(got) != 400 {
		t.Fatalf("status %d, want Envoy's 400 kept", got)
	}
}

// TestStreamsBeyondTheBoundAreRefused: with MaxStreams open (idle) streams, the next one is
// refused with RESOURCE_EXHAUSTED at once, and a slot freed is usable again.
func TestStreamsBeyondTheBoundAreRefused(t *testing.T) {
	srv, client := serveTest(t, Options{MaxStreams: 50})
	var cancels []context.CancelFunc
	defer func() {
		for _, c := range cancels {
			c()
		}
	}()
	open := func() (extprocv3.ExternalProcessor_ProcessClient, context.CancelFunc) {
		ctx, cancel := context.WithCancel(context.Background())
		st, err := client.Process(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return st, cancel
	}
	for i := range 50 {
		st, cancel := open()
		cancels = append(cancels, cancel)
		if err := st.Send(headersMsg("hdr.local", false)); err != nil {
			t.Fatal(err)
		}
		// Every stream up to the bound is served (then waits on the server for the body).
		if _, err := st.Recv(); err != nil {
			t.Fatalf("stream %d of 50: %v", i+1, err)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for srv.open.Load() < 50 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	extra, cancel := open()
	defer cancel()
	if _, err := extra.Recv(); status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("stream 51: %v, want RESOURCE_EXHAUSTED", err)
	}
	cancels[0]()
	for srv.open.Load() >= 50 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	again, cancel2 := open()
	defer cancel2()
	if err := again.Send(headersMsg("hdr.local", true)); err != nil {
		t.Fatal(err)
	}
	if _, err := again.Recv(); err != nil {
		t.Fatalf("after a slot was freed: %v", err)
	}
}

// serveTest serves a Server with opts (and testProcessor's config) over real gRPC on loopback
// and returns it with a client; both stop when the test ends.
func serveTest(t *testing.T, opts Options) (*Server, extprocv3.ExternalProcessorClient) {
	t.Helper()
	var h gateway.Holder
	h.Store(testProcessor(t).snap)
	opts.Snapshots = &h
	srv := NewServer(opts)
	g, _ := NewGRPCServer(srv, 1<<20)
	conn := serveOn(t, g)
	return srv, extprocv3.NewExternalProcessorClient(conn)
}

// serveOn serves g on a free loopback port until the test ends and returns a client connection.
func serveOn(t *testing.T, g *grpc.Server) *grpc.ClientConn {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = g.Serve(l) }()
	t.Cleanup(g.Stop)
	conn, err := grpc.NewClient(l.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

type stubTokens struct{}

func (stubTokens) Token(context.Context) (secret.Value, error)         { return secret.FromString("t"), nil }
func (stubTokens) Load(context.Context) (secret.Value, bool)           { return secret.FromString("t"), true }
func (stubTokens) Save(context.Context, secret.Value, time.Time) error { return nil }
func (stubTokens) Invalidate(context.Context)                          {}

// TestTokenProviderAsksForTheResponseHeaders: a provider with a token source must see the
// response status (a 401 invalidates the token and retries), so its mode override sends
// response headers, and the request body (the retry resends it); a mutant that left token
// providers out was caught only by the fault and fleet suites (issue 26).
func TestTokenProviderAsksForTheResponseHeaders(t *testing.T) {
	f := mustParse(t, `providers:
  - {name: tok, hosts: [tok.local], upstream: {url: "https://tok.example"}, token: {type: oauth2_client_credentials, url: "https://tok.example/token"}, signing: [{scheme: header}]}
`)
	c := &gateway.Compiler{
		Catalog: signer.Catalog{"header": func(signer.Build) (signer.Step, error) { return headerStep{}, nil }},
		Tokens: func(string, string, *config.TokenSource, signer.Keys, map[string]string) (signer.TokenSource, error) {
			return stubTokens{}, nil
		},
	}
	snap, err := c.Compile(f, gateway.Meta{})
	if err != nil {
		t.Fatal(err)
	}
	p := newProcessor(context.Background(), snap, Options{}.withDefaults())
	resp, err := p.handle(headersMsg("tok.local", false))
	if err != nil {
		t.Fatal(err)
	}
	m := resp.GetModeOverride()
	if m.GetResponseHeaderMode() != filterv3.ProcessingMode_SEND || m.GetRequestBodyMode() != filterv3.ProcessingMode_BUFFERED {
		t.Fatalf("a token provider's mode override %v: want response headers SEND and the request body BUFFERED", m)
	}
}
