package extproc

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"

	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/internal/gateway"
	"github.com/keygate/keygate/signer"
)

type failingTransport struct{}

func (failingTransport) RoundTrip(*http.Request) (*http.Response, error) {
	return nil, errors.New("no provider in this test")
}

// TestRetryAsksEnvoyToWaitWithinTheMessageTimeout: before the retry (a token fetch and a call to
// the provider inside one message) keygate asks Envoy for the route timeout plus the token
// allowance, never more than MaxMessageTimeout (Envoy honours override_message_timeout only up
// to max_message_timeout, which xds sets to it); unset, that bound is 60s.
func TestRetryAsksEnvoyToWaitWithinTheMessageTimeout(t *testing.T) {
	f := mustParse(t, `providers:
  - {name: tok, hosts: [tok.local], upstream: {url: "https://tok.example", timeout: 20s}, token: {type: oauth2_client_credentials, url: "https://tok.example/token"}, signing: [{scheme: header}]}
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
	for _, tt := range []struct {
		max, want time.Duration
	}{{0, 20*time.Second + retryTokenAllowance}, {10 * time.Second, 10 * time.Second}} {
		p := newProcessor(context.Background(), snap, Options{MaxMessageTimeout: tt.max,
			RetryClient: &http.Client{Transport: failingTransport{}}}.withDefaults())
		var sent []*extprocv3.ProcessingResponse
		p.send = sendFunc(func(r *extprocv3.ProcessingResponse) error { sent = append(sent, r); return nil })
		if _, err := p.handle(headersMsg("tok.local", true)); err != nil {
			t.Fatal(err)
		}
		if resp := p.retry(); resp.GetImmediateResponse() == nil {
			t.Fatalf("a retry whose provider call failed: %v, want an error answer", resp)
		}
		if len(sent) != 1 || sent[0].GetOverrideMessageTimeout().AsDuration() != tt.want {
			t.Errorf("MaxMessageTimeout %v: sent %v before the retry, want override_message_timeout %v", tt.max, sent, tt.want)
		}
	}
}
