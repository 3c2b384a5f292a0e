package main

import (
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/keygate/keygate/examples"
	"github.com/keygate/keygate/examples/demoprovider"
	"github.com/keygate/keygate/extproc"
	"github.com/keygate/keygate/internal/app"
	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/internal/gateway"
	"github.com/keygate/keygate/internal/metrics"
	"github.com/keygate/keygate/internal/routing"
	"github.com/keygate/keygate/keystore"
	"github.com/keygate/keygate/xds"
)

//go:embed testdata
var testdata embed.FS

// countingStore counts the keystore backend's Get calls: behind the cache, steady state makes
// none.
type countingStore struct {
	keystore.Store
	gets atomic.Int64
}

func (c *countingStore) Get(ctx context.Context, ref keystore.Ref) (keystore.Secret, error) {
	c.gets.Add(1)
	return c.Store.Get(ctx, ref)
}

// stack is keygate's ext_proc server and the two baselines (no-op, protocol limit), on loopback, with the token
// endpoints keygate's providers call.
type stack struct {
	app      *app.App
	snap     *gateway.Snapshot
	metrics  *prometheus.Registry
	store    *countingStore
	keygate  extprocv3.ExternalProcessorClient
	noop     extprocv3.ExternalProcessorClient
	limit    extprocv3.ExternalProcessorClient
	limitSrv *limitServer
	kgSrv    *extproc.Server
	kgAddr   string                 // keygate's ext_proc address (loopback)
	demo     *demoprovider.Provider // the script's token endpoint (the article's protocol)
	oauth    atomic.Int64           // client-credentials token fetches
	closers  []func()
	tokenURL struct{ script, oauth string }
}

func (s *stack) close() {
	for i := len(s.closers) - 1; i >= 0; i-- {
		s.closers[i]()
	}
}

// tokenFetches is every token endpoint call so far.
func (s *stack) tokenFetches() int64 { return s.demo.Stats.TokensIssued.Load() + s.oauth.Load() }

// startStack starts keygate's ext_proc server and, with baselines, the no-op and
// protocol-limit servers (a keygate child of the memory scenario starts keygate alone).
func startStack(ctx context.Context, baselines bool) (_ *stack, err error) {
	s := &stack{}
	defer func() {
		if err != nil {
			s.close()
		}
	}()
	s.demo = demoprovider.New(demoprovider.Credentials{
		AppKey: "demo-app", AppSecret: "demo-app-secret-0123456789", AESKey: demoKey, AESIV: demoIV,
	}, demoprovider.Options{TokenTTL: time.Hour})
	demoSrv := httptest.NewServer(s.demo)
	s.closers = append(s.closers, demoSrv.Close)
	oauthSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		n := s.oauth.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"access_token": fmt.Sprintf("bench-access-token-%d", n), "token_type": "bearer", "expires_in": 3600,
		})
	}))
	s.closers = append(s.closers, oauthSrv.Close)
	s.tokenURL.script, s.tokenURL.oauth = demoSrv.URL+"/v1/token", oauthSrv.URL+"/oauth/token"

	f, err := s.config()
	if err != nil {
		return nil, err
	}
	inner, err := keystore.OpenFile(f.Keystore.File.Path, slog.New(slog.DiscardHandler))
	if err != nil {
		return nil, err
	}
	s.store = &countingStore{Store: inner}
	s.metrics = prometheus.NewRegistry()
	m := metrics.New(s.metrics)
	cache, err := keystore.NewCache(s.store, keystore.CacheOptions{Observer: m.CacheObserver()})
	if err != nil {
		return nil, err
	}
	s.closers = append(s.closers, func() { _ = cache.Close() })
	if s.app, err = app.New(ctx, f.Keystore, app.Options{Keystore: cache}); err != nil {
		return nil, err
	}
	if s.snap, err = s.app.Apply(f, gateway.Meta{}); err != nil {
		return nil, err
	}
	m.SetConfigVersion(1)

	srv := extproc.NewServer(extproc.Options{Snapshots: &s.app.Snapshots, Observer: m})
	s.kgSrv = srv
	g, _ := extproc.NewGRPCServer(srv, s.snap.MaxBody)
	if s.keygate, s.kgAddr, err = s.serve(g); err != nil {
		return nil, err
	}
	if !baselines {
		return s, nil
	}
	// The no-op server gets the same message limits as keygate's.
	limit := int(s.snap.MaxBody) + 256<<10
	n := grpc.NewServer(grpc.MaxRecvMsgSize(limit), grpc.MaxSendMsgSize(limit))
	extprocv3.RegisterExternalProcessorServer(n, noopServer{})
	if s.noop, _, err = s.serve(n); err != nil {
		return nil, err
	}
	s.limitSrv = &limitServer{}
	l := grpc.NewServer(grpc.MaxRecvMsgSize(limit), grpc.MaxSendMsgSize(limit))
	extprocv3.RegisterExternalProcessorServer(l, s.limitSrv)
	if s.limit, _, err = s.serve(l); err != nil {
		return nil, err
	}
	return s, nil
}

// config reads testdata/keygate.yaml, writes the test keys where the file keystore reads them,
// points the token URLs at the loopback endpoints and inlines the article's script.
func (s *stack) config() (*config.File, error) {
	raw, err := fs.ReadFile(testdata, "testdata/keygate.yaml")
	if err != nil {
		return nil, err
	}
	f, err := config.Parse(raw)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "keygate-loadgen-")
	if err != nil {
		return nil, err
	}
	s.closers = append(s.closers, func() { _ = os.RemoveAll(dir) })
	keys, err := fs.ReadFile(testdata, "testdata/keys.yaml")
	if err != nil {
		return nil, err
	}
	f.Keystore.File.Path = filepath.Join(dir, "keys.yaml")
	if err := os.WriteFile(f.Keystore.File.Path, keys, 0o600); err != nil {
		return nil, err
	}
	js, err := fs.ReadFile(examples.Dev, "scripts/article-two-step.js")
	if err != nil {
		return nil, err
	}
	for i := range f.Providers {
		p := &f.Providers[i]
		if p.Script != nil {
			p.Script.Inline = string(js)
		}
		if p.Token != nil && p.Token.Type == "script" {
			p.Token.URL = s.tokenURL.script
		} else if p.Token != nil {
			p.Token.URL = s.tokenURL.oauth
		}
	}
	return f, nil
}

// serve starts g on a free loopback port and returns a client of it and its address.
func (s *stack) serve(g *grpc.Server) (extprocv3.ExternalProcessorClient, string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", err
	}
	go func() { _ = g.Serve(l) }()
	s.closers = append(s.closers, g.Stop)
	c, err := s.dial(l.Addr().String())
	return c, l.Addr().String(), err
}

// dial is a client of the ext_proc server at addr, closed with the stack.
func (s *stack) dial(addr string) (extprocv3.ExternalProcessorClient, error) {
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(64<<20), grpc.MaxCallSendMsgSize(64<<20)))
	if err != nil {
		return nil, err
	}
	s.closers = append(s.closers, func() { _ = conn.Close() })
	return extprocv3.NewExternalProcessorClient(conn), nil
}

// noopServer answers every message with an empty CONTINUE of the matching type: the cost of
// the ext_proc round trip itself.
type noopServer struct {
	extprocv3.UnimplementedExternalProcessorServer
}

func (noopServer) Process(stream extprocv3.ExternalProcessor_ProcessServer) error {
	for {
		msg, err := stream.Recv()
		if err != nil {
			return nil // the driver ended the stream
		}
		if err := stream.Send(continueFor(msg)); err != nil {
			return err
		}
	}
}

func continueFor(msg *extprocv3.ProcessingRequest) *extprocv3.ProcessingResponse {
	switch msg.GetRequest().(type) {
	case *extprocv3.ProcessingRequest_RequestHeaders:
		return &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_RequestHeaders{RequestHeaders: &extprocv3.HeadersResponse{}}}
	case *extprocv3.ProcessingRequest_RequestBody:
		return &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_RequestBody{RequestBody: &extprocv3.BodyResponse{}}}
	case *extprocv3.ProcessingRequest_ResponseHeaders:
		return &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_ResponseHeaders{ResponseHeaders: &extprocv3.HeadersResponse{}}}
	case *extprocv3.ProcessingRequest_ResponseBody:
		return &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_ResponseBody{ResponseBody: &extprocv3.BodyResponse{}}}
	case *extprocv3.ProcessingRequest_RequestTrailers:
		return &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_RequestTrailers{RequestTrailers: &extprocv3.TrailersResponse{}}}
	}
	return &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_ResponseTrailers{ResponseTrailers: &extprocv3.TrailersResponse{}}}
}

// limitServer is the protocol limit: for each route it answers every message with the answer
// keygate gave to that kind of message in a recorded request (the same header mutations, a
// replaced body of the same size, the same mode_override), prebuilt, so it does no crypto and
// no parsing. What it costs is what gRPC and protobuf cost to carry keygate's answers; what
// keygate costs beyond it is keygate's own.
type limitServer struct {
	extprocv3.UnimplementedExternalProcessorServer
	answers sync.Map // route -> map[kind]*extprocv3.ProcessingResponse, read-only once stored
}

// learn stores rec's answers as the route's.
func (l *limitServer) learn(route string, rec *recording) { l.answers.Store(route, rec.answers) }

func (l *limitServer) Process(stream extprocv3.ExternalProcessor_ProcessServer) error {
	var canned map[kind]*extprocv3.ProcessingResponse
	for {
		msg, err := stream.Recv()
		if err != nil {
			return nil // the driver ended the stream
		}
		if canned == nil {
			route := msg.GetAttributes()[xds.DefaultExtProcFilterName].GetFields()[routing.RouteAttribute].GetStringValue()
			v, ok := l.answers.Load(route)
			if !ok {
				return status.Errorf(codes.NotFound, "protocol-limit server: no recorded answers for route %q", route)
			}
			canned = v.(map[kind]*extprocv3.ProcessingResponse)
		}
		resp, ok := canned[kindOf(msg)]
		if !ok {
			resp = continueFor(msg)
		}
		if err := stream.Send(resp); err != nil {
			return err
		}
	}
}
