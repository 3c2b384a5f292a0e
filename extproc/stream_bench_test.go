package extproc

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/tap"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/keygate/keygate/internal/app"
	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/internal/gateway"
	"github.com/keygate/keygate/internal/routing"
)

// The load driver's static-header and simple-aes providers (test/loadgen/testdata), one tenant
// identified by the caller's SPIFFE ID.
const benchConfig = `
tenants:
  - {name: bench, spiffe_ids: ["spiffe://bench.local/ns/bench/sa/loadgen"]}
providers:
  - name: static-header
    tenant: bench
    hosts: [static.bench.local]
    upstream: {url: "https://static.example.com/v1"}
    secrets: {api_key: "secret/bench/static#api_key"}
    signing: [{scheme: static, secret: api_key, in: header, name: X-Api-Key}]
  - name: simple-aes
    tenant: bench
    hosts: [simple.bench.local]
    upstream: {url: "https://simple.example.com/v1"}
    secrets: {app_secret: "secret/bench/demo#app_secret", aes_key: "secret/bench/demo#aes_key", aes_iv: "secret/bench/demo#aes_iv"}
    signing:
      - {scheme: aes_cbc, key: aes_key, iv: aes_iv, field: data}
      - {scheme: simple, app_key: demo-app, app_secret: app_secret}
`

const benchKeys = `secret/bench/static:
  api_key: bench-static-api-key-0123456789
secret/bench/demo:
  app_secret: demo-app-secret-0123456789
  aes_key: demo-aes-key-16b
  aes_iv: demo-aes-iv-16by
`

// benchStream plays Envoy's side of one stream with prebuilt messages, without gRPC.
type benchStream struct {
	grpc.ServerStream
	ctx  context.Context
	msgs []*extprocv3.ProcessingRequest
	next int
	sent int
}

func (s *benchStream) Context() context.Context { return s.ctx }
func (s *benchStream) Send(*extprocv3.ProcessingResponse) error {
	s.sent++
	return nil
}

func (s *benchStream) Recv() (*extprocv3.ProcessingRequest, error) {
	if s.next == len(s.msgs) {
		return nil, io.EOF
	}
	s.next++
	return s.msgs[s.next-1], nil
}

func benchServer(b testing.TB) *Server { return benchServerT(b) }

func benchServerT(b testing.TB) *Server {
	b.Helper()
	path := filepath.Join(b.TempDir(), "keys.yaml")
	if err := os.WriteFile(path, []byte(benchKeys), 0o600); err != nil {
		b.Fatal(err)
	}
	a, err := app.New(context.Background(), config.Keystore{Type: "file", File: &config.FileStore{Path: path}}, app.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = a.Close() })
	f, err := config.Parse([]byte(benchConfig))
	if err != nil {
		b.Fatal(err)
	}
	if _, err := a.Apply(f, gateway.Meta{}); err != nil {
		b.Fatal(err)
	}
	return NewServer(Options{Snapshots: &a.Snapshots})
}

func benchHeaders(provider string, eos bool, kv ...string) *extprocv3.ProcessingRequest {
	hs := make([]*corev3.HeaderValue, 0, len(kv)/2)
	for i := 0; i < len(kv); i += 2 {
		hs = append(hs, &corev3.HeaderValue{Key: kv[i], RawValue: []byte(kv[i+1])})
	}
	msg := &extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_RequestHeaders{
		RequestHeaders: &extprocv3.HttpHeaders{Headers: &corev3.HeaderMap{Headers: hs}, EndOfStream: eos}}}
	if provider != "" {
		msg.Attributes = map[string]*structpb.Struct{attributesNamespace: {Fields: map[string]*structpb.Value{
			AttrRouteName:  structpb.NewStringValue(routing.RouteName(provider)),
			AttrPeerURISAN: structpb.NewStringValue("spiffe://bench.local/ns/bench/sa/loadgen"),
		}}}
	}
	return msg
}

// runStreams runs one stream per iteration through Server.Process (the stream's deadline as
// NewGRPCServer's tap sets it, the processor, the answers) with Envoy's messages prebuilt, from
// loopback.
func runStreams(b *testing.B, msgs []*extprocv3.ProcessingRequest, answers int) {
	s := benchServer(b)
	ctx := peer.NewContext(context.Background(), &peer.Peer{Addr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1}})
	b.ReportAllocs()
	for b.Loop() {
		sctx, err := s.startStream(ctx, &tap.Info{FullMethodName: extprocv3.ExternalProcessor_Process_FullMethodName})
		if err != nil {
			b.Fatal(err)
		}
		st := &benchStream{ctx: sctx, msgs: msgs}
		if err := s.Process(st); err != nil {
			b.Fatal(err)
		}
		if st.sent != answers {
			b.Fatalf("%d answers, want %d", st.sent, answers)
		}
	}
}

// BenchmarkStreamStaticHeader is the static-header scenario's stream: one request_headers
// message (tenant from the SPIFFE attribute, route lookup, one injected header), answered.
func BenchmarkStreamStaticHeader(b *testing.B) {
	runStreams(b, []*extprocv3.ProcessingRequest{
		benchHeaders("static-header", false, ":method", "POST", ":path", "/orders", ":authority", "static.bench.local",
			":scheme", "http", "content-type", "application/json", "content-length", "4096", "x-request-id", "r1"),
	}, 1)
}

// BenchmarkStreamSimpleAES is the simple-aes scenario's stream: the four messages with a 4 KiB
// body each way (the server side of BenchmarkPipelineSimpleAES).
func BenchmarkStreamSimpleAES(b *testing.B) {
	head := `{"timestamp":1700000000,"orderId":"ord-42","amount":12345,"data":"`
	n := 4096 - len(head) - 2
	body := []byte(head + strings.Repeat("abcdefghijklmnopqrstuvwxyz0123456789", n/36+1)[:n] + `"}`)
	plain := body[:len(body):len(body)]
	pad := aes.BlockSize - len(plain)%aes.BlockSize
	for range pad {
		plain = append(plain, byte(pad))
	}
	block, _ := aes.NewCipher([]byte("demo-aes-key-16b"))
	cipher.NewCBCEncrypter(block, []byte("demo-aes-iv-16by")).CryptBlocks(plain, plain)
	answer := []byte(`{"code":0,"msg":"ok","data":"` + base64.StdEncoding.EncodeToString(plain) + `"}`)
	runStreams(b, []*extprocv3.ProcessingRequest{
		benchHeaders("simple-aes", false, ":method", "POST", ":path", "/orders", ":authority", "simple.bench.local",
			":scheme", "http", "content-type", "application/json", "content-length", strconv.Itoa(len(body)), "x-request-id", "r1"),
		{Request: &extprocv3.ProcessingRequest_RequestBody{RequestBody: &extprocv3.HttpBody{Body: body, EndOfStream: true}}},
		{Request: &extprocv3.ProcessingRequest_ResponseHeaders{ResponseHeaders: &extprocv3.HttpHeaders{Headers: &corev3.HeaderMap{
			Headers: []*corev3.HeaderValue{{Key: ":status", RawValue: []byte("200")}, {Key: "content-type", RawValue: []byte("application/json")},
				{Key: "content-length", RawValue: []byte(strconv.Itoa(len(answer)))}}}}}},
		{Request: &extprocv3.ProcessingRequest_ResponseBody{ResponseBody: &extprocv3.HttpBody{Body: answer, EndOfStream: true}}},
	}, 4)
}
