package gateway

import (
	"errors"
	"strings"
	"testing"

	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/internal/failure"
	"github.com/keygate/keygate/signer"
)

// callbackMark is a callback scheme for tests: a markStep with a refusal.
type callbackMark struct{ markStep }

func (callbackMark) Refusal(error) *signer.Response { return &signer.Response{Status: 401} }

// TestIdentifyOnTheListenerItCameFrom: on the ingress listener only the callback provider
// whose route Envoy matched is served (no host fallback: a request no ingress route matched is
// not an egress provider's to sign); on the egress listener a callback provider is refused
// whether its route or its host names it.
func TestIdentifyOnTheListenerItCameFrom(t *testing.T) {
	c := testCompiler()
	c.Catalog["notify"] = func(signer.Build) (signer.Step, error) { return callbackMark{markStep{"notify"}}, nil }
	f, err := config.Parse([]byte(`providers:
  - {name: pay, hosts: [pay.egress.local], upstream: {url: "https://pay.example"}, signing: [{scheme: mark, name: a}]}
  - {name: notify, callback: true, hosts: [notify.pay.local], upstream: {url: "http://127.0.0.1:9/notify"}, signing: [{scheme: notify}]}
`))
	if err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile(f, Meta{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name           string
		ingress        bool
		route, host    string
		want, mentions string // want: the provider; else the refusal mentions this
	}{
		{"egress by route", false, "keygate/pay", "pay.egress.local", "pay", ""},
		{"egress by host (a route keygate did not name)", false, "", "pay.egress.local:10000", "pay", ""},
		{"egress routed to a callback route", false, "keygate/notify", "notify.pay.local", "", "callback route"},
		{"egress with a callback host", false, "", "notify.pay.local", "", "callback route"},
		{"ingress by its callback route", true, "keygate/notify", "anything.example", "notify", ""},
		{"ingress, no route matched, an egress host", true, "", "pay.egress.local", "", "no callback route"},
		{"ingress, no route matched, the callback host", true, "", "notify.pay.local", "", "no callback route"},
		{"ingress routed to an egress provider's route", true, "keygate/pay", "pay.egress.local", "", "names no callback provider"},
		{"ingress routed to a route keygate did not name", true, "mesh/default", "notify.pay.local", "", "no callback route"},
		{"ingress routed to an unknown provider", true, "keygate/gone", "notify.pay.local", "", "names no callback provider"},
	}
	for _, tt := range tests {
		p, err := s.IdentifyOn(tt.ingress, tt.route, tt.host)
		if tt.want != "" {
			if err != nil || p.Name != tt.want {
				t.Errorf("%s: %v, %v; want %s", tt.name, p, err, tt.want)
			}
			continue
		}
		var fe *failure.Error
		if err == nil || !errors.As(err, &fe) || fe.Kind != failure.NotFound || !strings.Contains(err.Error(), tt.mentions) {
			t.Errorf("%s: %v, %v; want a not-found refusal mentioning %q", tt.name, p, err, tt.mentions)
		}
	}
}
