package callbacks

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// payAPI is an egress provider's API with a token endpoint: every call is recorded, and the API
// answers 404 so that a request keygate retries on 404 would be sent again.
type payAPI struct {
	issued atomic.Int32
	mu     sync.Mutex
	calls  []string // "authorization body"
}

func (p *payAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	if r.URL.Path == "/token" {
		_ = json.NewEncoder(w).Encode(map[string]any{"access_token": fmt.Sprintf("tok-%d", p.issued.Add(1)), "expires_in": 3600})
		return
	}
	p.mu.Lock()
	p.calls = append(p.calls, r.Header.Get("Authorization")+" "+string(b))
	p.mu.Unlock()
	w.WriteHeader(http.StatusNotFound)
}

func (p *payAPI) seen() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.calls...)
}

// TestRedTeamIngressDoesNotSignForEgressProviders: the ingress listener faces the internet. A
// request to it whose Host is an egress provider's matches no ingress route (Envoy answers 404),
// but keygate identified the provider by that host and signed it with the provider's token; a
// provider whose token.retry_on lists 404 then had keygate's own retry send the internet's body,
// signed, to the provider. keygate now tells the ingress listener's streams apart (the gRPC
// metadata x-keygate-phase: ingress, which xds puts in that listener's filter) and serves only
// callback routes there.
func TestRedTeamIngressDoesNotSignForEgressProviders(t *testing.T) {
	api := &payAPI{}
	up := httptest.NewServer(api)
	defer up.Close()
	svc := &service{}
	svcSrv := httptest.NewServer(svc)
	defer svcSrv.Close()
	old := newPlatform(t, "5157F09EFDC096DE15EBE81A47057A72")
	s := startStackWith(t, `
  - name: pay
    hosts: [pay.egress.local]
    upstream: {url: `+up.URL+`/api}
    token: {type: http, url: "`+up.URL+`/token", retry_on: [401, 404]}
    signing:
      - {scheme: token}
`+wechatNotifyProvider(t, svcSrv.URL, old), "envoy:\n  upstream_signing: false\n")

	send := func(base, host, body string) (int, string) {
		req, err := http.NewRequest("POST", base+"/orders", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Host = host
		req.Header.Set("Content-Type", "application/json")
		return roundTrip(t, req)
	}

	// The egress works as ever: a service's call is signed with the token (and retried once on
	// the API's 404, as configured).
	if status, _ := send(s.EgressURL, "pay.egress.local", `{"from":"service"}`); status != http.StatusNotFound {
		t.Fatalf("egress call: %d, want the API's 404", status)
	}
	if got := api.seen(); len(got) != 2 || !strings.HasPrefix(got[0], "Bearer tok-") {
		t.Fatalf("the egress call reached the API as %q, want it signed and retried once", got)
	}

	// The attack: the same request from the internet, to the ingress listener.
	for _, host := range []string{"pay.egress.local", "PAY.egress.local:443", "pay.egress.local."} {
		status, body := send(s.IngressURL, host, `{"from":"internet"}`)
		if status != http.StatusNotFound {
			t.Errorf("Host %q on the ingress: %d %s, want 404", host, status, body)
		}
	}
	for _, c := range api.seen()[2:] {
		t.Errorf("a request from the internet reached the provider: %q", c)
	}
	if d := svc.deliveries(); len(d) != 0 {
		t.Errorf("the callback service got %d deliveries", len(d))
	}
}
