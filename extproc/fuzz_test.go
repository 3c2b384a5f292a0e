package extproc_test

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"google.golang.org/grpc"

	"github.com/keygate/keygate/extproc"
	"github.com/keygate/keygate/internal/app"
	"github.com/keygate/keygate/internal/gateway"
)

const fuzzConfig = `
keystore: {type: file, file: {path: keys.yaml}}
limits: {max_body_bytes: 65536}
providers:
  - name: simple
    hosts: [simple.egress.local]
    upstream: {url: "http://127.0.0.1:9/v1"}
    secrets: {app_secret: secret/fuzz/k#app_secret, aes_key: secret/fuzz/k#aes_key, aes_iv: secret/fuzz/k#aes_iv}
    signing:
      - {scheme: aes_cbc, key: aes_key, iv: aes_iv, field: data}
      - {scheme: simple, app_key: k, app_secret: app_secret}
  - name: static
    hosts: [static.egress.local]
    upstream: {url: "http://127.0.0.1:9/api"}
    secrets: {api_key: secret/fuzz/k#api_key}
    signing: [{scheme: static, secret: api_key, in: header, name: X-Api-Key}]
`

const fuzzKeys = "secret/fuzz/k:\n  app_secret: fuzz-app-secret\n  api_key: fuzz-api-key\n  aes_key: 0123456789abcdef\n  aes_iv: fedcba9876543210\n"

// fakeStream is one ext_proc stream: it hands the server msgs, then io.EOF (Envoy ended it);
// after an ImmediateResponse it ends at once, as Envoy does.
type fakeStream struct {
	grpc.ServerStream
	ctx  context.Context
	msgs []*extprocv3.ProcessingRequest
	sent []*extprocv3.ProcessingResponse
}

func (s *fakeStream) Context() context.Context { return s.ctx }
func (s *fakeStream) Send(r *extprocv3.ProcessingResponse) error {
	s.sent = append(s.sent, r)
	return nil
}

func (s *fakeStream) Recv() (*extprocv3.ProcessingRequest, error) {
	if len(s.msgs) == 0 {
		return nil, io.EOF
	}
	if n := len(s.sent); n > 0 && s.sent[n-1].GetImmediateResponse() != nil {
		return nil, io.EOF // Envoy answered the caller and ends the stream
	}
	m := s.msgs[0]
	s.msgs = s.msgs[1:]
	return m, nil
}

// FuzzProcessRequest sends a request (fuzzed authority, path, one header and body) and a
// response through keygate's ext_proc Process loop: no panic, and every message gets an answer
// or the stream ends with an error (which Envoy turns into a 500), never a clean close that
// would let the request through unprocessed.
func FuzzProcessRequest(f *testing.F) {
	dir := f.TempDir()
	for name, data := range map[string]string{"keygate.yaml": fuzzConfig, "keys.yaml": fuzzKeys} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o600); err != nil {
			f.Fatal(err)
		}
	}
	loaded, err := app.Load(filepath.Join(dir, "keygate.yaml"))
	if err != nil {
		f.Fatal(err)
	}
	a, err := app.New(context.Background(), loaded.File.Keystore, app.Options{})
	if err != nil {
		f.Fatal(err)
	}
	if _, err := a.Apply(loaded.File, gateway.Meta{}); err != nil {
		f.Fatal(err)
	}
	srv := extproc.NewServer(extproc.Options{Snapshots: &a.Snapshots})

	f.Add("simple.egress.local", "/orders", "X-Trace", "t1", []byte(`{"data":"{\"amount\":7}","timestamp":"1700000000"}`))
	f.Add("static.egress.local", "/v2/items?x=1", "X-Keygate-Tenant", "other", []byte(`{"n":1}`))
	f.Add("nobody.egress.local", "/", "", "", []byte(`{}`))
	f.Add("simple.egress.local:443", "relative", "content-length", "99", []byte(`not json`))
	f.Add("", "", ":authority", "static.egress.local", []byte{0xff, 0xfe})
	f.Fuzz(func(t *testing.T, authority, path, hname, hval string, body []byte) {
		headers := []*corev3.HeaderValue{
			{Key: ":method", RawValue: []byte("POST")}, {Key: ":scheme", RawValue: []byte("http")},
			{Key: ":authority", RawValue: []byte(authority)}, {Key: ":path", RawValue: []byte(path)},
			{Key: "content-type", RawValue: []byte("application/json")},
		}
		if hname != "" {
			headers = append(headers, &corev3.HeaderValue{Key: hname, RawValue: []byte(hval)})
		}
		st := &fakeStream{ctx: context.Background(), msgs: []*extprocv3.ProcessingRequest{
			{Request: &extprocv3.ProcessingRequest_RequestHeaders{RequestHeaders: &extprocv3.HttpHeaders{
				Headers: &corev3.HeaderMap{Headers: headers}}}},
			{Request: &extprocv3.ProcessingRequest_RequestBody{RequestBody: &extprocv3.HttpBody{Body: body, EndOfStream: true}}},
			{Request: &extprocv3.ProcessingRequest_ResponseHeaders{ResponseHeaders: &extprocv3.HttpHeaders{
				Headers: &corev3.HeaderMap{Headers: []*corev3.HeaderValue{{Key: ":status", RawValue: []byte("200")}}}}}},
			{Request: &extprocv3.ProcessingRequest_ResponseBody{ResponseBody: &extprocv3.HttpBody{Body: body, EndOfStream: true}}},
		}}
		want := len(st.msgs)
		err := srv.Process(st)
		if err == nil && len(st.sent) == 0 && want > 0 {
			t.Fatalf("stream closed cleanly without answering the request headers")
		}
		for i, r := range st.sent {
			if r == nil || r.Response == nil {
				t.Fatalf("answer %d is empty", i)
			}
		}
	})
}
