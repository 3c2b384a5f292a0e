// Package e2e drives keygate end to end: an HTTP client -> the Envoy emulator -> keygate's
// ext_proc server -> a real provider on loopback, the same stack `keygate dev` runs.
package e2e

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/keygate/keygate/internal/devstack"
)

func startStack(t testing.TB, opts devstack.Options) *devstack.Stack {
	t.Helper()
	s, err := devstack.Start(context.Background(), opts)
	if err != nil {
		t.Fatalf("start stack: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// call sends a request to the egress the way a business service would.
func call(t *testing.T, s *devstack.Stack, method, host, path, body string, header map[string]string) (int, http.Header, string) {
	t.Helper()
	status, h, b, err := send(s, method, host, path, body, header)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	return status, h, b
}

// post is call for goroutines other than the test's own (which must not call t.Fatal): a
// transport error comes back as status 0 with the error as the body.
func post(s *devstack.Stack, host, path, body string) (int, string) {
	status, _, b, err := send(s, "POST", host, path, body, nil)
	if err != nil {
		return 0, err.Error()
	}
	return status, b
}

func send(s *devstack.Stack, method, host, path, body string, header map[string]string) (int, http.Header, string, error) {
	req, err := http.NewRequest(method, s.EgressURL+path, strings.NewReader(body))
	if err != nil {
		return 0, nil, "", err
	}
	req.Host = host
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b), err
}

func TestSimpleSigningEndToEnd(t *testing.T) {
	s := startStack(t, devstack.Options{})
	status, _, body := call(t, s, "POST", "demo.egress.local", "/orders",
		`{"data":"{\"amount\":100}","timestamp":"1700000000"}`, nil)
	if status != 200 {
		t.Fatalf("status %d, body %s", status, body)
	}
	var got struct {
		Code int `json:"code"`
		Data struct {
			Path     string `json:"path"`
			Received string `json:"received"`
		} `json:"data"` // decrypted by keygate: the provider sent base64 AES-CBC
	}
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatalf("response data was not decrypted to JSON: %s", body)
	}
	inner := got.Data
	if inner.Path != "/v1/orders" || inner.Received != `{"amount":100}` {
		t.Errorf("provider saw path %q and data %q", inner.Path, inner.Received)
	}
	if n := s.Provider.Stats.Accepted.Load(); n != 1 {
		t.Errorf("provider accepted %d requests, want 1", n)
	}
}
