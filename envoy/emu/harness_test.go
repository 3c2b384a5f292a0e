package emu

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	extprocv3cfg "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// script drives one Process stream of the scripted ext_proc server.
type script func(s *scriptStream) error

// scriptStream wraps the server side of a stream and records what it receives.
type scriptStream struct {
	srv extprocv3.ExternalProcessor_ProcessServer
	p   *procServer
}

// recv returns the next message, or nil once the emulator closed its side.
func (s *scriptStream) recv() *extprocv3.ProcessingRequest {
	req, err := s.srv.Recv()
	if err != nil {
		s.p.mu.Lock()
		s.p.endErrs = append(s.p.endErrs, err)
		s.p.mu.Unlock()
		return nil
	}
	s.p.mu.Lock()
	s.p.got = append(s.p.got, req)
	s.p.mu.Unlock()
	return req
}

func (s *scriptStream) send(resp *extprocv3.ProcessingResponse) { _ = s.srv.Send(resp) }

// procServer is a real gRPC ext_proc server on 127.0.0.1 running a script per stream.
type procServer struct {
	extprocv3.UnimplementedExternalProcessorServer
	run     script
	mu      sync.Mutex
	got     []*extprocv3.ProcessingRequest
	endErrs []error
	streams int
	addr    string
}

func (p *procServer) Process(srv extprocv3.ExternalProcessor_ProcessServer) error {
	p.mu.Lock()
	p.streams++
	p.mu.Unlock()
	return p.run(&scriptStream{srv: srv, p: p})
}

func (p *procServer) messages() []*extprocv3.ProcessingRequest {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]*extprocv3.ProcessingRequest(nil), p.got...)
}

// kinds lists the request oneof names received, e.g. "request_headers".
func (p *procServer) kinds() []string {
	var out []string
	for _, m := range p.messages() {
		out = append(out, kindOf(m))
	}
	return out
}

func kindOf(m *extprocv3.ProcessingRequest) string {
	switch m.GetRequest().(type) {
	case *extprocv3.ProcessingRequest_RequestHeaders:
		return "request_headers"
	case *extprocv3.ProcessingRequest_RequestBody:
		return "request_body"
	case *extprocv3.ProcessingRequest_RequestTrailers:
		return "request_trailers"
	case *extprocv3.ProcessingRequest_ResponseHeaders:
		return "response_headers"
	case *extprocv3.ProcessingRequest_ResponseBody:
		return "response_body"
	case *extprocv3.ProcessingRequest_ResponseTrailers:
		return "response_trailers"
	}
	return "?"
}

func startProcServer(t *testing.T, run script) *procServer {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &procServer{run: run, addr: l.Addr().String()}
	g := grpc.NewServer()
	extprocv3.RegisterExternalProcessorServer(g, p)
	go func() { _ = g.Serve(l) }()
	t.Cleanup(g.Stop)
	return p
}

// seenRequest is what reached the upstream.
type seenRequest struct {
	method, host, uri string
	header            http.Header
	body              string
	contentLength     int64
	chunked           bool
}

// upstream is an httptest server that records requests and answers with a fixed response.
type upstream struct {
	*httptest.Server
	mu   sync.Mutex
	seen []seenRequest
}

func startUpstream(t *testing.T, name string, h http.HandlerFunc) *upstream {
	t.Helper()
	u := &upstream{}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		u.mu.Lock()
		u.seen = append(u.seen, seenRequest{method: r.Method, host: r.Host, uri: r.RequestURI, header: r.Header.Clone(),
			body: string(b), contentLength: r.ContentLength, chunked: len(r.TransferEncoding) > 0})
		u.mu.Unlock()
		if h != nil {
			h(w, r)
			return
		}
		w.Header().Set("X-Upstream", name)
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, "hello from "+name)
	}))
	t.Cleanup(u.Close)
	return u
}

func (u *upstream) requests() []seenRequest {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]seenRequest(nil), u.seen...)
}

func (u *upstream) addr() string { return strings.TrimPrefix(u.URL, "http://") }

// harness is emulator + scripted processor + upstream, with the client side.
type harness struct {
	t       *testing.T
	proc    *procServer
	up      *upstream
	emu     *Emulator
	front   *httptest.Server
	mu      sync.Mutex
	replies []string // local reply details
}

// bufferedMode is keygate's mode: headers SEND, bodies BUFFERED, trailers SKIP.
func bufferedMode() *extprocv3cfg.ProcessingMode {
	return &extprocv3cfg.ProcessingMode{RequestBodyMode: extprocv3cfg.ProcessingMode_BUFFERED, ResponseBodyMode: extprocv3cfg.ProcessingMode_BUFFERED}
}

// baseConfig routes everything to cluster "up".
func baseConfig(procAddr, upAddr string) Config {
	return Config{
		ExtProcAddress: procAddr,
		ProcessingMode: bufferedMode(),
		VirtualHosts:   []VirtualHost{{Name: "all", Domains: []string{"*"}, Routes: []Route{{Prefix: "/", Cluster: "up"}}}},
		Clusters:       map[string]Cluster{"up": {Endpoints: []string{upAddr}}},
	}
}

func newHarness(t *testing.T, run script, edit func(*Config)) *harness {
	t.Helper()
	if run == nil {
		run = continueAll
	}
	h := &harness{t: t, proc: startProcServer(t, run), up: startUpstream(t, "up", nil)}
	cfg := baseConfig(h.proc.addr, h.up.addr())
	if edit != nil {
		edit(&cfg)
	}
	e, err := New(cfg, WithLocalReplyHook(func(status int, details string) {
		h.mu.Lock()
		h.replies = append(h.replies, details)
		h.mu.Unlock()
	}))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	h.emu = e
	h.front = httptest.NewServer(e)
	t.Cleanup(func() { h.front.Close(); _ = e.Close() })
	return h
}

// result is what the client got.
type result struct {
	status int
	header http.Header
	body   string
}

func (h *harness) do(method, path, body string, hdr map[string]string) result {
	h.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, h.front.URL+path, rd)
	if err != nil {
		h.t.Fatal(err)
	}
	for k, v := range hdr {
		if strings.EqualFold(k, "host") {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	return h.send(req)
}

func (h *harness) send(req *http.Request) result {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := http.DefaultTransport.RoundTrip(req.WithContext(ctx))
	if err != nil {
		h.t.Fatalf("client: %v", err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, _ := io.ReadAll(resp.Body)
	return result{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

// h2URL serves the emulator on a second listener that speaks h2c (Emulator.Serve), for
// requests whose HTTP/2 framing matters (trailers without DATA).
func (h *harness) h2URL() string {
	h.t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		h.t.Fatal(err)
	}
	go func() { _ = h.emu.Serve(l) }()
	return "http://" + l.Addr().String()
}

// sendH2 sends req over prior-knowledge HTTP/2 cleartext.
func (h *harness) sendH2(req *http.Request) result {
	h.t.Helper()
	protos := new(http.Protocols)
	protos.SetUnencryptedHTTP2(true)
	tr := &http.Transport{Protocols: protos}
	defer tr.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := tr.RoundTrip(req.WithContext(ctx))
	if err != nil {
		h.t.Fatalf("client: %v", err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, _ := io.ReadAll(resp.Body)
	return result{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

// ---- response builders and scripts ----

func common(cr *extprocv3.CommonResponse) *extprocv3.CommonResponse {
	if cr == nil {
		return &extprocv3.CommonResponse{}
	}
	return cr
}

// reply builds the response matching req's type carrying cr.
func reply(req *extprocv3.ProcessingRequest, cr *extprocv3.CommonResponse) *extprocv3.ProcessingResponse {
	cr = common(cr)
	switch req.GetRequest().(type) {
	case *extprocv3.ProcessingRequest_RequestHeaders:
		return &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_RequestHeaders{RequestHeaders: &extprocv3.HeadersResponse{Response: cr}}}
	case *extprocv3.ProcessingRequest_RequestBody:
		return &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_RequestBody{RequestBody: &extprocv3.BodyResponse{Response: cr}}}
	case *extprocv3.ProcessingRequest_RequestTrailers:
		return &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_RequestTrailers{RequestTrailers: &extprocv3.TrailersResponse{HeaderMutation: cr.GetHeaderMutation()}}}
	case *extprocv3.ProcessingRequest_ResponseHeaders:
		return &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_ResponseHeaders{ResponseHeaders: &extprocv3.HeadersResponse{Response: cr}}}
	case *extprocv3.ProcessingRequest_ResponseBody:
		return &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_ResponseBody{ResponseBody: &extprocv3.BodyResponse{Response: cr}}}
	default:
		return &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_ResponseTrailers{ResponseTrailers: &extprocv3.TrailersResponse{HeaderMutation: cr.GetHeaderMutation()}}}
	}
}

// continueAll answers every message with an empty CONTINUE.
func continueAll(s *scriptStream) error {
	for req := s.recv(); req != nil; req = s.recv() {
		s.send(reply(req, nil))
	}
	return nil
}

// onKind answers the first message of the given kind on each stream with f's response (nil:
// close the stream cleanly) and CONTINUEs the rest.
func onKind(kind string, f func(req *extprocv3.ProcessingRequest) *extprocv3.ProcessingResponse) script {
	return func(s *scriptStream) error {
		once := f // per stream: scripts are shared by every stream of the server
		for req := s.recv(); req != nil; req = s.recv() {
			if kindOf(req) == kind && once != nil {
				resp := once(req)
				once = nil
				if resp == nil { // nil: end the stream cleanly here
					return nil
				}
				s.send(resp)
				continue
			}
			s.send(reply(req, nil))
		}
		return nil
	}
}

// mutateOn answers the first message of kind with a header mutation (plus extras in cr).
func mutateOn(kind string, cr *extprocv3.CommonResponse) script {
	return onKind(kind, func(req *extprocv3.ProcessingRequest) *extprocv3.ProcessingResponse { return reply(req, cr) })
}

func setRaw(key, value string) *corev3.HeaderValueOption {
	return &corev3.HeaderValueOption{Header: &corev3.HeaderValue{Key: key, RawValue: []byte(value)}}
}

func appendRaw(key, value string) *corev3.HeaderValueOption {
	o := setRaw(key, value)
	//lint:ignore SA1019 the legacy flag is what Envoy's ext_proc reads
	o.Append = wrapperspb.Bool(true)
	return o
}

func headerMut(set []*corev3.HeaderValueOption, remove ...string) *extprocv3.HeaderMutation {
	return &extprocv3.HeaderMutation{SetHeaders: set, RemoveHeaders: remove}
}

// headerValue reads a header from a HeaderMap as Envoy sent it (raw_value).
func headerValue(m *corev3.HeaderMap, key string) (string, bool) {
	for _, h := range m.GetHeaders() {
		if h.GetKey() == key {
			return string(h.GetRawValue()), true
		}
	}
	return "", false
}

func bodyMut(b string) *extprocv3.BodyMutation {
	return &extprocv3.BodyMutation{Mutation: &extprocv3.BodyMutation_Body{Body: []byte(b)}}
}

func equalStrings(a, b []string) bool { return strings.Join(a, ",") == strings.Join(b, ",") }

// waitFor polls cond for up to 5 s (bounded; not a timing assertion).
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatal("condition not met within 5s")
}

// fakeConn is a grpc.ClientConnInterface that is never used (config validation only).
type fakeConn struct{ grpc.ClientConnInterface }
