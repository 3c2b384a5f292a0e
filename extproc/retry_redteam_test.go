package extproc

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"

	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/internal/gateway"
	"github.com/keygate/keygate/signer"
)

// TestRedTeamTokenRetryResendsOnlyTheCallersRequest: the one retry re-begins from the request
// the call kept (Envoy's fields, since the seventh performance round a view of the stream's
// header set, not a copy). A caller pads the request past the set's inline room, repeats the
// headers keygate signs (in two cases), and sends its tenant key: the retried request keygate
// sends itself carries the caller's headers as sent, keygate's fresh signature alone (one
// Authorization, one X-Sig, for the fresh token), no keygate header, and the caller's body.
func TestRedTeamTokenRetryResendsOnlyTheCallersRequest(t *testing.T) {
	var mu sync.Mutex
	var got *http.Request
	var gotBody []byte
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got, gotBody = r, b
		mu.Unlock()
		_, _ = io.WriteString(w, "ok")
	}))
	defer up.Close()
	f := mustParse(t, `providers:
  - {name: tok, hosts: [tok.local], upstream: {url: "`+up.URL+`/api"}, token: {type: http, url: "`+up.URL+`/token"}, signing: [{scheme: tok}]}
`)
	toks, clock := &fakeTokens{}, 0
	c := &gateway.Compiler{
		Catalog: signer.Catalog{"tok": func(signer.Build) (signer.Step, error) { return tokenStep{&clock}, nil }},
		Tokens: func(string, string, *config.TokenSource, signer.Keys, map[string]string) (signer.TokenSource, error) {
			return toks, nil
		},
	}
	snap, err := c.Compile(f, gateway.Meta{})
	if err != nil {
		t.Fatal(err)
	}
	for _, pad := range []int{inlineHeaders - 6, inlineHeaders - 2, inlineHeaders, inlineHeaders + 3} {
		hs := insertAt(fillers(pad), pad/2,
			&corev3.HeaderValue{Key: "authorization", RawValue: []byte("Bearer stolen")},
			&corev3.HeaderValue{Key: "x-keygate-tenant-key", RawValue: []byte("kg_secret")},
			&corev3.HeaderValue{Key: "Authorization", RawValue: []byte("Bearer stolen2")},
			&corev3.HeaderValue{Key: "x-sig", RawValue: []byte("forged")})
		p := newProcessor(context.Background(), snap, Options{RetryClient: up.Client()}.withDefaults())
		msg := requestWith("tok.local", hs...)
		msg.GetRequestHeaders().EndOfStream = false
		if resp, err := p.handle(msg); err != nil || resp.GetImmediateResponse() != nil {
			t.Fatalf("pad %d headers: %v %v", pad, resp, err)
		}
		if resp, err := p.handle(bodyMsg(`{"amount":1}`)); err != nil || resp.GetImmediateResponse() != nil {
			t.Fatalf("pad %d body: %v %v", pad, resp, err)
		}
		resp, err := p.handle(statusMsg("401"))
		if err != nil || resp.GetImmediateResponse().GetStatus().GetCode() != 200 {
			t.Fatalf("pad %d: the retry answered %v %v", pad, resp, err)
		}
		mu.Lock()
		r, body := got, gotBody
		mu.Unlock()
		if r == nil {
			t.Fatalf("pad %d: nothing was retried", pad)
		}
		for name := range r.Header {
			if strings.HasPrefix(strings.ToLower(name), "x-keygate") {
				t.Fatalf("pad %d: the retry sent %s", pad, name)
			}
		}
		if a := r.Header.Values("Authorization"); len(a) != 1 || !strings.HasPrefix(a[0], "Bearer tok-") || a[0] == "Bearer tok-1" {
			t.Fatalf("pad %d: retried Authorization %q, want the fresh token alone", pad, a)
		}
		if s := r.Header.Values("X-Sig"); len(s) != 1 || strings.HasPrefix(s[0], "forged") || strings.HasPrefix(s[0], "tok-1") {
			t.Fatalf("pad %d: retried X-Sig %q", pad, s)
		}
		for i := range pad {
			if v := r.Header.Values(fmt.Sprintf("X-Pad-%d", i)); !slices.Equal(v, []string{"p"}) {
				t.Fatalf("pad %d: the caller's x-pad-%d was retried as %q", pad, i, v)
			}
		}
		if string(body) != `{"amount":1}` || r.URL.Path != "/api/x" {
			t.Fatalf("pad %d: retried %s with body %q", pad, r.URL.Path, body)
		}
		got = nil
	}
}
